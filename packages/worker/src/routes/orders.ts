import { ApiError, InvalidRequestError } from '@ibrest/common';
import type { RouteContext, RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { runOrderCall, type OrderCall, type Step } from '../orders/pipeline.js';
import type { OrderRecord } from '../state/types.js';
import { OrderNotFoundError } from '../errors.js';
import type { RouteDeps } from './deps.js';
import { CONTRACT_SCHEMA, ORDER_JSON_SCHEMA, ORDER_PROPERTIES, orderJson } from './schemas.js';

const INT32 = { type: 'integer', minimum: 0, maximum: 2147483647 } as const;
const ORDER_ID: Schema = {
  type: 'object',
  required: ['orderId'],
  additionalProperties: false,
  properties: { orderId: INT32 },
};
const PERM_ID: Schema = {
  type: 'object',
  required: ['permId'],
  additionalProperties: false,
  properties: { permId: { type: 'integer', minimum: 1, maximum: 2 ** 53 - 1 } },
};
/** `{orders: [...]}`; `orders` is required so a single order (which has no `orders`) never matches it too. */
const ORDER_LIST: Schema = {
  type: 'object',
  required: ['orders'],
  properties: { orders: { type: 'array', items: ORDER_JSON_SCHEMA } },
};
const ORDER_FIELDS: Schema = { type: 'object', additionalProperties: false, properties: ORDER_PROPERTIES };
const LEG: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { contract: CONTRACT_SCHEMA, order: ORDER_FIELDS },
};
const PLACE_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  description:
    'Exactly one of: one order `{ contract, order }`; a bracket `{ bracket: { parent, takeProfit, stopLoss } }` ' +
    '(children default to the parent’s contract and quantity and the opposite side; IB’s parentId/transmit are ' +
    'set for you); an OCA group `{ oca: { ocaGroup?, ocaType?, orders: [...] } }`. A JSON array is refused (400): a ' +
    'list is never an implicit bracket.',
  properties: {
    contract: CONTRACT_SCHEMA,
    order: ORDER_FIELDS,
    bracket: {
      type: 'object',
      additionalProperties: false,
      required: ['parent'],
      properties: { parent: LEG, takeProfit: LEG, stopLoss: LEG },
    },
    oca: {
      type: 'object',
      additionalProperties: false,
      required: ['orders'],
      properties: {
        ocaGroup: { type: 'string', minLength: 1, maxLength: 64 },
        ocaType: { type: 'integer', minimum: 1, maximum: 3, description: "IB's ocaType (default 1)" },
        orders: { type: 'array', minItems: 2, maxItems: 10, items: LEG },
      },
    },
  },
};
const MODIFY_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['order'],
  description:
    'Fields IB lets a live order change (quantity, prices, tif, dates, display…); a changed side, type, account, ' +
    'group or contract is a 400.',
  properties: { contract: CONTRACT_SCHEMA, order: ORDER_FIELDS },
};
const WAIT_QUERY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait: { type: 'string', enum: ['submitted', 'filled'], description: 'What to wait for (default submitted)' },
  },
};
const WRITE_ERRORS = {
  400: ['IDEMPOTENCY_KEY_INVALID', 'IB_INVALID_REQUEST'],
  404: ['CONTRACT_NOT_FOUND', 'ORDER_NOT_FOUND'],
  409: [
    'IDEMPOTENCY_KEY_REUSED',
    'IDEMPOTENCY_KEY_RELEASED',
    'ORDER_NOT_MODIFIABLE',
    'ORDER_CANCELLED',
    'ORDER_ID_AMBIGUOUS',
    'ORDER_NOT_OWN',
  ],
  422: ['ORDER_REJECTED'],
  429: ['PACING_LIMIT'],
  503: ['IB_NOT_READY', 'IB_CONNECTION_LOST'],
  504: ['DEADLINE_EXCEEDED'],
};
const KEY_NOTE =
  'Send `Idempotency-Key` to make retries safe: the key follows its order, so a retry answers with the order’s ' +
  'current state (201/200 once IB acknowledged it, IB’s refusal if IB refused it; `Idempotent-Replayed: true`), ' +
  'never a frozen 504.';

/** An id that names more than one of this worker's orders (IB restarted its id sequence): the caller must choose. */
export class OrderIdAmbiguousError extends ApiError {
  constructor(orderId: number, candidates: OrderRecord[]) {
    const message = `Order id ${orderId} names ${candidates.length} orders; address one by /order/perm/{permId}`;
    const list = candidates.map((r) => {
      const { orderId: id, clientId, permId, status } = r;
      return { orderId: id, clientId, permId, status };
    });
    super(409, 'ORDER_ID_AMBIGUOUS', message, { details: { orderId, candidates: list } });
  }
}

/** A modify or cancel of an order another client placed: IB lets only the owning client change it. */
export class OrderNotOwnError extends ApiError {
  constructor(r: OrderRecord) {
    const message = `Order permId ${r.permId} belongs to clientId ${r.clientId}; only that client can change it`;
    super(409, 'ORDER_NOT_OWN', message, { details: { permId: r.permId, clientId: r.clientId, orderId: r.orderId } });
  }
}

export interface OrderRouteDeps {
  pipeline: Step[];
  /** The clientIds whose orders `/order/{id}` addresses (the configured one and the one in use). */
  ownClientIds: () => number[];
  /** The journal's view of an order that left the bounded mirror. */
  journalView: (ids: { orderId?: number; permId?: number; clientId?: number }) => Record<string, unknown> | undefined;
}

export function orderRoutes(deps: RouteDeps): RouteDef[] {
  const o = deps.orderPath;
  /** Worker 0's own order with this id; 409 when the id names several (a reused id), 404 when none. */
  const own = (orderId: number): OrderRecord => {
    const found = deps.mirror.orders.candidates(orderId, o.ownClientIds());
    const acked = found.filter((r) => r.acknowledged);
    const list = acked.length > 0 ? acked : found;
    if (list.length > 1) throw new OrderIdAmbiguousError(orderId, list);
    if (list.length === 0) throw new OrderNotFoundError(orderId);
    return list[0]!;
  };
  const byPerm = (permId: number): OrderRecord => {
    const r = deps.mirror.orders.getByPermId(permId);
    if (r === undefined || !r.acknowledged) {
      throw new ApiError(404, 'ORDER_NOT_FOUND', `No order with permId ${permId} is known`, { details: { permId } });
    }
    return r;
  };
  const ownTarget = (r: OrderRecord): OrderRecord => {
    if (r.clientId !== undefined && !o.ownClientIds().includes(r.clientId)) throw new OrderNotOwnError(r);
    return r;
  };
  type Op = OrderCall['op'];
  const call = (ctx: RouteContext, op: Op, method: string, path: string, target?: OrderRecord): OrderCall => ({
    op,
    method,
    path,
    query: ctx.query,
    body: ctx.body,
    headers: ctx.headers,
    ...(ctx.rawHeaders === undefined ? {} : { rawHeaders: ctx.rawHeaders }),
    reqId: ctx.reqId,
    deadline: ctx.deadline,
    log: ctx.log,
    ...(target === undefined ? {} : { target }),
  });
  const fromJournal = (ids: { orderId?: number; permId?: number }, err: ApiError) => {
    const clientIds = o.ownClientIds();
    const v =
      ids.permId !== undefined
        ? o.journalView(ids)
        : clientIds.map((clientId) => o.journalView({ ...ids, clientId })).find((x) => x !== undefined);
    if (v === undefined) throw err;
    return { body: v };
  };
  const read = (fn: () => OrderRecord, ids: { orderId?: number; permId?: number }) => {
    try {
      return { body: orderJson(fn()) };
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ORDER_NOT_FOUND') return fromJournal(ids, err);
      throw err;
    }
  };
  return [
    {
      method: 'get',
      path: '/order',
      operationId: 'listOrders',
      summary: 'Open orders IB acknowledged, with their status (clientId 0 sees every client and TWS)',
      description:
        'Only orders IB itself reported (openOrder / orderStatus / an execution) are listed; `all=true` adds the ' +
        'recent finished ones.',
      tag: 'orders',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          all: {
            type: 'boolean',
            description: 'Include the recent filled/cancelled/inactive orders (a bounded window; older: the journal)',
          },
        },
      },
      response: ORDER_LIST,
      errors: {},
      handle: ({ query }) => {
        deps.requests.assertMirror();
        const list = query.all === true ? deps.mirror.orders.all() : deps.mirror.orders.open();
        return { body: { orders: list.map(orderJson) } };
      },
    },
    {
      method: 'post',
      path: '/order',
      operationId: 'placeOrder',
      summary: 'Place one order, a bracket or an OCA group; answers once IB acknowledged it',
      description:
        '201 only on IB’s own evidence (openOrder / orderStatus): `wait=submitted` (default) answers when IB ' +
        'reports the order working (PreSubmitted/Submitted) or filled, `wait=filled` when it is filled; ' +
        '`transmit: false` answers with the order IB holds untransmitted. IB’s refusal answers at once (unknown ' +
        'contract 404, others 4xx, with `ibCode` and IB’s text). A `wait=filled` order cancelled before it filled ' +
        'answers 409 ORDER_CANCELLED. If IB says nothing by the deadline: 504 with the order’s state; the order is ' +
        `followed until IB decides. ${KEY_NOTE}`,
      tag: 'orders',
      usesIb: true,
      query: WAIT_QUERY,
      body: PLACE_BODY,
      response: { oneOf: [ORDER_JSON_SCHEMA, ORDER_LIST] },
      successStatus: 201,
      errors: {
        ...WRITE_ERRORS,
        403: [
          'POLICY_READ_ONLY',
          'POLICY_SECTYPE_NOT_ALLOWED',
          'POLICY_SYMBOL_NOT_ALLOWED',
          'POLICY_QUANTITY_LIMIT',
          'POLICY_NOTIONAL_LIMIT',
          'POLICY_PRICE_BAND',
          'POLICY_PRICE_UNAVAILABLE',
        ],
      },
      handle: (ctx) => runOrderCall(o.pipeline, call(ctx, 'place', 'POST', '/order')),
    },
    {
      method: 'get',
      path: '/order/perm/:permId',
      operationId: 'getOrderByPermId',
      summary: 'Any order by IB’s permId: this worker’s, another client’s, or one entered in TWS',
      tag: 'orders',
      usesIb: true,
      params: PERM_ID,
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'] },
      handle: ({ params }) => read(() => byPerm(params.permId), { permId: params.permId }),
    },
    {
      method: 'put',
      path: '/order/perm/:permId',
      operationId: 'modifyOrderByPermId',
      summary: 'Modify an order addressed by permId (only orders this worker’s clientId placed)',
      description: KEY_NOTE,
      tag: 'orders',
      usesIb: true,
      params: PERM_ID,
      body: MODIFY_BODY,
      response: ORDER_JSON_SCHEMA,
      errors: WRITE_ERRORS,
      handle: (ctx) => {
        const target = ownTarget(byPerm(ctx.params.permId));
        return runOrderCall(o.pipeline, call(ctx, 'modify', 'PUT', `/order/perm/${ctx.params.permId}`, target));
      },
    },
    {
      method: 'delete',
      path: '/order/perm/:permId',
      operationId: 'cancelOrderByPermId',
      summary: 'Cancel an order addressed by permId (only orders this worker’s clientId placed)',
      description: KEY_NOTE,
      tag: 'orders',
      usesIb: true,
      params: PERM_ID,
      response: ORDER_JSON_SCHEMA,
      errors: WRITE_ERRORS,
      handle: (ctx) => {
        const target = ownTarget(byPerm(ctx.params.permId));
        return runOrderCall(o.pipeline, call(ctx, 'cancel', 'DELETE', `/order/perm/${ctx.params.permId}`, target));
      },
    },
    {
      method: 'get',
      path: '/order/:orderId',
      operationId: 'getOrder',
      summary: 'One of this worker’s orders (by its IB orderId) with its status history and fills',
      description:
        'Addresses the orders placed with this worker’s clientId; other clients’ and TWS orders: ' +
        '/order/perm/{permId}. ' +
        '409 ORDER_ID_AMBIGUOUS names the candidates when an id names more than one of them.',
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      response: ORDER_JSON_SCHEMA,
      errors: { 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_ID_AMBIGUOUS'] },
      handle: ({ params }) => read(() => own(params.orderId), { orderId: params.orderId }),
    },
    {
      method: 'put',
      path: '/order/:orderId',
      operationId: 'modifyOrder',
      summary: 'Modify a live order: the fields given replace the live ones (only what IB lets change)',
      description: KEY_NOTE,
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      body: MODIFY_BODY,
      response: ORDER_JSON_SCHEMA,
      errors: WRITE_ERRORS,
      handle: (ctx) => {
        const target = own(ctx.params.orderId);
        return runOrderCall(o.pipeline, call(ctx, 'modify', 'PUT', `/order/${ctx.params.orderId}`, target));
      },
    },
    {
      method: 'delete',
      path: '/order/:orderId',
      operationId: 'cancelOrder',
      summary: 'Cancel an order; answers with its final status',
      description: KEY_NOTE,
      tag: 'orders',
      usesIb: true,
      params: ORDER_ID,
      response: ORDER_JSON_SCHEMA,
      errors: WRITE_ERRORS,
      handle: (ctx) => {
        const target = own(ctx.params.orderId);
        return runOrderCall(o.pipeline, call(ctx, 'cancel', 'DELETE', `/order/${ctx.params.orderId}`, target));
      },
    },
    {
      method: 'delete',
      path: '/order',
      operationId: 'cancelOrderSeed',
      summary: 'Cancel an order named by `orderId` in the query or the JSON body (the original IBREST form)',
      tag: 'orders',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: { orderId: INT32 } },
      body: { type: 'object', additionalProperties: false, properties: { orderId: INT32 } },
      bodyOptional: true,
      response: ORDER_JSON_SCHEMA,
      errors: WRITE_ERRORS,
      handle: (ctx) => {
        const inBody = (ctx.body as { orderId?: number } | undefined)?.orderId;
        const orderId = (ctx.query.orderId ?? inBody) as number | undefined;
        if (orderId === undefined) {
          const fields = [{ field: 'query.orderId', message: 'is required (or body.orderId)' }];
          throw new InvalidRequestError('orderId is required', { fields });
        }
        // The order named is part of the fingerprint: a key used for one order never cancels another.
        return runOrderCall(o.pipeline, call(ctx, 'cancel', 'DELETE', `/order/${orderId}`, own(orderId)));
      },
    },
  ];
}
