import { EventName, type Contract, type Order, type OrderState } from '@stoqey/ib';
import { DeadlineExceededError } from '../errors.js';
import type { ContractData, Fields } from '../state/types.js';
import type { IbConnection, RequestErrorEvent } from './connection.js';
import type { Deadline } from './deadline.js';
import { ibErrorToApiError } from './error-codes.js';
import type { OrderIds } from './order-ids.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';
import { plain } from './sync.js';

/** The margin and commission impact IB computes for an order it does not place (OrderState fields). */
export interface WhatIfResult {
  orderId: number;
  status?: string;
  initMarginBefore?: number;
  maintMarginBefore?: number;
  equityWithLoanBefore?: number;
  initMarginChange?: number;
  maintMarginChange?: number;
  equityWithLoanChange?: number;
  initMarginAfter?: number;
  maintMarginAfter?: number;
  equityWithLoanAfter?: number;
  commission?: number;
  minCommission?: number;
  maxCommission?: number;
  commissionCurrency?: string;
  warningText?: string;
  orderState: Fields;
}

const STATE_KEYS = [
  'status',
  'initMarginBefore',
  'maintMarginBefore',
  'equityWithLoanBefore',
  'initMarginChange',
  'maintMarginChange',
  'equityWithLoanChange',
  'initMarginAfter',
  'maintMarginAfter',
  'equityWithLoanAfter',
  'commission',
  'minCommission',
  'maxCommission',
  'commissionCurrency',
  'warningText',
] as const;

/**
 * IB's what-if preview: placeOrder with `whatIf=true` under a fresh order id. IB answers with one
 * openOrder whose order has whatIf set and whose OrderState carries the margin and commission impact;
 * nothing is placed. The sync leaves such openOrders out of the mirror (they are not orders).
 */
export class WhatIfService {
  /** orderId → settle callbacks of a pending preview */
  private readonly pending = new Map<number, { resolve: (s: Fields) => void; reject: (e: Error) => void }>();

  constructor(
    conn: IbConnection,
    private readonly requests: Requests,
    private readonly ids: OrderIds,
  ) {
    conn.listen(EventName.openOrder, (orderId: number, _contract: Contract, order: Order, orderState: OrderState) => {
      if (order?.whatIf) this.pending.get(orderId)?.resolve(plain(orderState));
    });
    conn.on('requestError', (e: RequestErrorEvent) => {
      const p = this.pending.get(e.reqId);
      if (p !== undefined && e.code !== 399 && e.code < 2100)
        p.reject(ibErrorToApiError(e.code, e.message, { operation: 'what_if', orderId: e.reqId }));
    });
  }

  async preview(contract: ContractData, order: Fields, d: Deadline): Promise<WhatIfResult> {
    const sessionId = this.requests.assertServing();
    const [orderId] = this.ids.allocate(1) as [number];
    const answer = new Promise<Fields>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DeadlineExceededError('what_if', d.timeoutMs, { orderId })),
        Math.max(0, d.deadlineAt - Date.now()),
      );
      const clear = () => clearTimeout(timer);
      this.pending.set(orderId, {
        resolve: (s) => (clear(), resolve(s)),
        reject: (e) => (clear(), reject(e)),
      });
    });
    answer.catch(() => {});
    try {
      await this.requests.sendInSession(
        sessionId,
        'what_if',
        (api) =>
          api.placeOrder(
            orderId,
            contract as Contract,
            { ...order, orderId, whatIf: true, transmit: true } as unknown as Order,
          ),
        { priority: PRIORITY.order, deadlineAt: d.deadlineAt },
      );
      const state = await answer;
      const out: WhatIfResult = { orderId, orderState: state };
      for (const k of STATE_KEYS) if (state[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = state[k];
      return out;
    } finally {
      this.pending.delete(orderId);
    }
  }
}
