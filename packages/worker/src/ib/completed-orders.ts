import { EventName, type Contract, type Order, type OrderState } from '@stoqey/ib';
import type { ContractData, Fields } from '../state/types.js';
import type { IbConnection, IbSession } from './connection.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';
import { plain } from './sync.js';

/** One order IB reports as completed (filled, cancelled, inactive). IB sends no orderId for these. */
export interface CompletedOrder {
  permId: number;
  orderRef?: string;
  status: string;
  filled: number;
  totalQuantity: number;
  contract: ContractData;
  order: Fields;
  orderState: Fields;
}

/**
 * reqCompletedOrders: the orders that ended (today, by IB's rules), the only way to learn that an order
 * which was open before a disconnect was cancelled or filled meanwhile: open-order requests no longer
 * list it. One request at a time; completedOrder messages carry no reqId.
 */
export class CompletedOrders {
  private collecting: { list: CompletedOrder[]; done: () => void; abandon: () => void } | undefined;

  constructor(
    conn: IbConnection,
    private readonly requests: Requests,
  ) {
    conn.listen(EventName.completedOrder, (contract: Contract, order: Order, orderState: OrderState) => {
      const c = this.collecting;
      if (c === undefined || !order?.permId) return;
      const o = plain(order);
      const state = plain(orderState);
      c.list.push({
        permId: order.permId,
        orderRef: typeof order.orderRef === 'string' && order.orderRef !== '' ? order.orderRef : undefined,
        status: typeof orderState?.status === 'string' ? orderState.status : 'Unknown',
        filled:
          typeof order.filledQuantity === 'number' && Number.isFinite(order.filledQuantity) ? order.filledQuantity : 0,
        totalQuantity: typeof order.totalQuantity === 'number' ? order.totalQuantity : 0,
        contract: plain(contract),
        order: o,
        orderState: state,
      });
    });
    conn.listen(EventName.completedOrdersEnd, () => this.collecting?.done());
  }

  /** Requests the completed orders in `session`; resolves with what arrived by the end marker or `timeoutMs`. */
  async fetch(session: IbSession, timeoutMs: number): Promise<{ orders: CompletedOrder[]; complete: boolean }> {
    while (this.collecting !== undefined) await new Promise((r) => setTimeout(r, 10));
    const list: CompletedOrder[] = [];
    let complete = false;
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.collecting = {
        list,
        done: () => {
          complete = true;
          clearTimeout(timer);
          resolve();
        },
        abandon: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
    // A session that ends mid-wait never sends the end marker: stop waiting at once, or the next session's
    // reconciliation (and worker 0's readiness) would wait out the rest of `timeoutMs` first.
    const stopOnEnd = this.requests.onSessionEnd(() => this.collecting?.abandon());
    try {
      await this.requests.sendInSession(session.id, 'completed_orders', (api) => api.reqCompletedOrders(false), {
        priority: PRIORITY.background,
      });
      await ended;
    } finally {
      stopOnEnd();
      this.collecting = undefined;
    }
    return { orders: list, complete };
  }
}
