import { InvalidRequestError } from '@ibrest/common';
import type { RouteDef } from '../http/route.js';
import type { FieldError, Schema } from '../http/schema.js';
import type { OrderLeg, WaitFor } from '../ib/order-service.js';
import type { Fields } from '../state/types.js';
import { OrderNotFoundError } from '../errors.js';
import type { RouteDeps } from './deps.js';
import {
  assertNoProblems,
  CONTRACT_SCHEMA,
  contractProblems,
  ORDER_JSON_SCHEMA,
  ORDER_LEG_SCHEMA,
  ORDER_PROPERTIES,
  orderJson,
  orderProblems,
} from './schemas.js';

const ORDER_ID: Schema = { type: 'object', required: ['orderId'], additionalProperties: false, properties: { orderId: { type: 'integer', minimum: 0, maximum: 2147483647 } } };
/** `{orders: [...]}`; `orders` is required so a single order (which has no `orders`) never matches it too. */
const ORDER_LIST: Schema = { type: 'object', required: ['orders'], properties: { orders: { type: 'array', items: ORDER_JSON_SCHEMA } } };

export function orderRoutes(deps: RouteDeps): RouteDef[] {
  const getOrder = (orderId: number) => {
    deps.requests.assertServing();
    const r = deps.mirror.orders.get(orderId);
    if (r === undefined) throw new OrderNotFoundError(orderId);
    return r;
  };
  return [
    {
      method: 'get',
      path: '/order',
      operationId: 'listOrders',
      summary: 'Open orders with their status (from the live mirror; clientId 0 sees every client and TWS)',
      tag: 'orders',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: { all: { type: 'boolean', description: 'Include filled/cancelled orders seen since connect' } } },
      response: ORDER_LIST,
      errors: {},
      handle: ({ query }) => {
        deps.requests.assertServing();
        const list = query.all === true ? deps.mirror.orders.all() : deps.mirror.orders.open();
        return { body: { orders: list.map(orderJson) } };
      },
    },
    {
      method: 'post',
      path: '/order',
      operationId: 'placeOrder',
      summary: 'Place one order, or a list: a bracket (parent first) or an OCA group (every leg with the same ocaGroup)',
      description:
        '`wait=submitted` (default) answers on the first of PreSubmitted/Submitted/Filled/Cancelled/Inactive; `wait=filled` waits for Filled. ' +
        'On the deadline the order keeps living and the answer is 504 with its current state.',
      tag: 'orders',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: { wait: { type: 'string', enum: ['submitted', 'filled'], description: 'What to wait for (default submitted)' } },
      },
      body: { oneOf: [ORDER_LEG_SCHEMA, { type: 'array', minItems: 1, maxItems: 10, items: ORDER_LEG_SCHEMA }] },
      response: { oneOf: [ORDER_JSON_SCHEMA, ORDER_LIST] },
      successStatus: 201,
      errors: { 422: ['ORDER_REJECTED'], 429: ['PACING_LIMIT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, body, deadline }) => {
        const list = Array.isArray(body) ? (body as OrderLeg[]) : [body as OrderLeg];
        const problems: FieldError[] = [];
        list.forEach((leg, i) => {
          const p = Array.isArray(body) ? `body[${i}]` : 'body';
          problems.push(...contractProblems(leg.contract, `${p}.contract`, true), ...orderProblems(leg.order, `${p}.order`));
        });
        assertNoProblems(problems);
        const records = await deps.orders.place(list, (query.wait ?? 'submitted') as WaitFor, deadline);
        return { status: 201, body: Array.isArray(body) ? { orders: records.map(orderJson) } : orderJson(records[0]!) };
      },
    },
    {
      method: 'get',
      path: '/order/:orderId',
      operationId: 'getOrder',
      summary: 'One order with its status history and fills',
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'] },
      handle: ({ params }) => ({ body: orderJson(getOrder(params.orderId)) }),
    },
    {
      method: 'put',
      path: '/order/:orderId',
      operationId: 'modifyOrder',
      summary: 'Modify a live order (fields given replace the live ones; the rest is kept)',
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['order'],
        properties: { contract: CONTRACT_SCHEMA, order: { type: 'object', additionalProperties: false, properties: ORDER_PROPERTIES } },
      },
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_MODIFIABLE'], 422: ['ORDER_REJECTED'], 429: ['PACING_LIMIT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ params, body, deadline }) => {
        const patch = body as { contract?: Fields; order: Fields };
        const live = getOrder(params.orderId);
        const merged = { ...live.order, ...patch.order };
        assertNoProblems([...(patch.contract ? contractProblems(patch.contract, 'body.contract', true) : []), ...orderProblems(merged, 'body.order')]);
        const rec = await deps.orders.modify(params.orderId, patch, deadline);
        return { body: orderJson(rec) };
      },
    },
    {
      method: 'delete',
      path: '/order/:orderId',
      operationId: 'cancelOrder',
      summary: 'Cancel an order; answers with its final status',
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_MODIFIABLE'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ params, deadline }) => ({ body: orderJson(await deps.orders.cancel(params.orderId, deadline)) }),
    },
    {
      method: 'delete',
      path: '/order',
      operationId: 'cancelOrderSeed',
      summary: 'Cancel an order named by `orderId` in the query or the JSON body (the original IBREST form)',
      tag: 'orders',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: { orderId: { type: 'integer', minimum: 0, maximum: 2147483647 } } },
      body: { type: 'object', additionalProperties: false, properties: { orderId: { type: 'integer', minimum: 0, maximum: 2147483647 } } },
      bodyOptional: true,
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_MODIFIABLE'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, body, deadline }) => {
        const orderId = (query.orderId ?? (body as { orderId?: number } | undefined)?.orderId) as number | undefined;
        if (orderId === undefined) throw new InvalidRequestError('orderId is required', { fields: [{ field: 'query.orderId', message: 'is required (or body.orderId)' }] });
        return { body: orderJson(await deps.orders.cancel(orderId, deadline)) };
      },
    },
  ];
}
