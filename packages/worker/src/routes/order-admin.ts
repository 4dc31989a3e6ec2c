import { sendGlobalCancel } from '../ib/global-cancel.js';
import type { Requests } from '../ib/requests.js';
import type { WhatIfService } from '../ib/what-if.js';
import type { RouteDef } from '../http/route.js';
import { API_KEY_HEADER, singleHeader as headerValue } from '../orders/pipeline.js';
import type { PolicyGate } from '../orders/policy-gate.js';
import type { Mirror } from '../state/mirror.js';
import type { ContractData, Fields } from '../state/types.js';
import { assertNoProblems, contractProblems, ORDER_LEG_SCHEMA, orderProblems } from './schemas.js';

const num = { type: 'number' } as const;

/** POST /order/whatif (IB's margin/commission preview) and the global cancel, both audited. */
export function orderAdminRoutes(deps: {
  whatIf: WhatIfService;
  policy: PolicyGate;
  requests: Requests;
  mirror: Mirror;
}): RouteDef[] {
  const globalCancel = (method: 'post' | 'delete'): RouteDef => ({
    method,
    path: '/order/global-cancel',
    operationId: method === 'post' ? 'globalCancel' : 'globalCancelDelete',
    summary: 'Cancel every open order of the account, whichever client placed it (IB reqGlobalCancel); audit-logged',
    description:
      'The last resort when orders must stop. ' +
      'IB sends no direct answer: cancellations arrive as status changes (see GET /order/events). ' +
      'Refused for read-only keys.',
    tag: 'orders',
    usesIb: true,
    response: {
      type: 'object',
      properties: {
        requested: { type: 'boolean' },
        openOrders: { type: 'integer', description: 'Open orders in the mirror when the cancel was sent' },
      },
    },
    successStatus: 202,
    errors: { 403: ['POLICY_READ_ONLY'] },
    handle: async ({ headers, reqId }) => {
      deps.requests.assertServing();
      const apiKeyName = headerValue(headers, API_KEY_HEADER);
      await deps.policy.check({
        action: 'cancel',
        auditAction: 'global-cancel',
        reqId,
        ...(apiKeyName === undefined ? {} : { apiKeyName }),
      });
      const openOrders = deps.mirror.orders.open().length;
      await sendGlobalCancel(deps.requests);
      return { status: 202, body: { requested: true, openOrders } };
    },
  });
  return [
    {
      method: 'post',
      path: '/order/whatif',
      operationId: 'whatIfOrder',
      summary: "Preview an order's margin and commission impact (IB what-if); nothing is placed",
      description:
        'Checked against the caller key’s safety policy like a real order ' +
        '(read-only keys may preview) and audit-logged.',
      tag: 'orders',
      usesIb: true,
      body: ORDER_LEG_SCHEMA,
      response: {
        type: 'object',
        properties: {
          orderId: { type: 'integer' },
          status: { type: 'string' },
          initMarginBefore: num,
          maintMarginBefore: num,
          equityWithLoanBefore: num,
          initMarginChange: num,
          maintMarginChange: num,
          equityWithLoanChange: num,
          initMarginAfter: num,
          maintMarginAfter: num,
          equityWithLoanAfter: num,
          commission: num,
          minCommission: num,
          maxCommission: num,
          commissionCurrency: { type: 'string' },
          warningText: { type: 'string' },
          orderState: { type: 'object' },
        },
      },
      errors: {
        403: [
          'POLICY_SECTYPE_NOT_ALLOWED',
          'POLICY_SYMBOL_NOT_ALLOWED',
          'POLICY_QUANTITY_LIMIT',
          'POLICY_NOTIONAL_LIMIT',
          'POLICY_PRICE_BAND',
          'POLICY_PRICE_UNAVAILABLE',
        ],
        422: ['ORDER_REJECTED'],
        504: ['DEADLINE_EXCEEDED'],
      },
      handle: async ({ body, headers, reqId, deadline }) => {
        const leg = body as { contract: ContractData; order: Fields };
        assertNoProblems([
          ...contractProblems(leg.contract, 'body.contract', true),
          ...orderProblems(leg.order, 'body.order'),
        ]);
        deps.requests.assertServing();
        const apiKeyName = headerValue(headers, API_KEY_HEADER);
        await deps.policy.check({
          action: 'whatif',
          contract: leg.contract,
          order: leg.order,
          reqId,
          deadline,
          ...(apiKeyName === undefined ? {} : { apiKeyName }),
        });
        return { body: await deps.whatIf.preview(leg.contract, leg.order, deadline) };
      },
    },
    globalCancel('post'),
    globalCancel('delete'),
  ];
}
