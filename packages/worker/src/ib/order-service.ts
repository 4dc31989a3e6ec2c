import type { Contract, Order } from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import { judge, judgeAll, settled, type Verdict, type Watch } from '../orders/evidence.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import type { ContractData, Fields, OrderRecord } from '../state/types.js';
import type { IbSession } from './connection.js';
import type { Deadline } from './deadline.js';
import { classifyIbCode } from './error-codes.js';
import type { OrderIds } from './order-ids.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

/** One order operation to send to IB. */
export interface OrderIntent {
  action: 'place' | 'modify' | 'cancel';
  orderId: number;
  contract?: ContractData;
  order?: Fields;
}

/** How a wait for IB's evidence ended. */
export type EvidenceResult =
  | { kind: 'answered' }
  | { kind: 'refused'; error: Extract<Verdict, { kind: 'refused' }>['error'] }
  /** The deadline passed with no decisive word from IB. */
  | { kind: 'silent' }
  /** The session ended: IB may or may not have the order; reconciliation will tell. */
  | { kind: 'lost' };

/** An error may trail a Cancelled/Inactive status by a message or two; this long we wait for it. */
const REJECT_GRACE_MS = 50;

/**
 * The order path's IB side, and nothing else: order ids, placeholders in the mirror, sending one
 * message at order priority, and waiting for IB's evidence in the mirror. What to send and when is the
 * pipeline's business (orders/pipeline.ts).
 */
export class OrderService {
  constructor(
    private readonly requests: Requests,
    readonly mirror: Mirror,
    readonly ids: OrderIds,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {
    mirror.orders.onEvent((e) => {
      if (e.type === 'status') metrics?.orderStatus.inc({ status: e.status });
      if (e.type === 'fill') metrics?.fills.inc();
      if (e.type === 'error' && e.error && classifyIbCode(e.error.code) === 'request' && e.error.code !== 202) {
        metrics?.orderRejects.inc({ ib_code: String(e.error.code) });
      }
    });
  }

  /** The current session's id; 503 when IB is not serving. */
  assertServing(): number {
    return this.requests.assertServing();
  }

  retryAfterSeconds(): number {
    return this.requests.retryAfterSeconds();
  }

  /** Hands one message to IB (through the pacer) within the session it was planned in. */
  async send(sessionId: number, it: OrderIntent, d: Deadline): Promise<void> {
    if (it.action === 'cancel') {
      const cancel = (api: IbSession['api']) => api.cancelOrder(it.orderId);
      await this.requests.sendInSession(sessionId, 'cancel_order', cancel, { priority: PRIORITY.cancel });
    } else {
      const op = it.action === 'place' ? 'place_order' : 'modify_order';
      const [contract, order] = [it.contract as Contract, it.order as unknown as Order];
      const place = (api: IbSession['api']) => api.placeOrder(it.orderId, contract, order);
      await this.requests.sendInSession(sessionId, op, place, {
        priority: PRIORITY.order,
        deadlineAt: d.deadlineAt,
      });
      if (it.action === 'place') this.metrics?.ordersPlaced.inc();
    }
    this.log.info({ orderId: it.orderId, action: it.action, orderType: it.order?.orderType }, 'order message sent');
  }

  /** Cancels legs of a refused group that IB already holds (best effort: their statuses tell the rest). */
  cancelQuietly(sessionId: number, records: readonly OrderRecord[]): void {
    for (const r of records) {
      this.requests
        .sendInSession(sessionId, 'cancel_order', (api) => api.cancelOrder(r.orderId), { priority: PRIORITY.cancel })
        .catch((err) => this.log.warn({ err, orderId: r.orderId }, 'could not cancel a leg of a refused group'));
    }
  }

  /**
   * Waits until IB's evidence decides the request (see orders/evidence.ts), the deadline passes, or the
   * session ends. Evaluated at once (IB may have answered already) and on every order event.
   */
  evidence(watches: readonly Watch[], operation: string, d: Deadline): Promise<EvidenceResult> {
    const records = new Set(watches.map((w) => w.record));
    return new Promise((resolve) => {
      let grace: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (r: EvidenceResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(grace);
        off();
        offLost();
        resolve(r);
      };
      const evaluate = () => {
        const v = judgeAll(watches, operation);
        if (v.kind === 'answered') return finish({ kind: 'answered' });
        if (v.kind === 'refused') return finish({ kind: 'refused', error: v.error });
        if (v.settling && grace === undefined) {
          grace = setTimeout(() => {
            const again = judgeAll(watches, operation);
            if (again.kind === 'refused') return finish({ kind: 'refused', error: again.error });
            if (again.kind === 'answered') return finish({ kind: 'answered' });
            if (again.settling !== true) {
              grace = undefined;
              return;
            }
            for (const w of watches) {
              if (judge(w, operation).kind !== 'pending') continue;
              const s = settled(w);
              if (s.kind === 'refused') return finish({ kind: 'refused', error: s.error });
            }
            finish({ kind: 'answered' });
          }, REJECT_GRACE_MS);
        }
      };
      const timer = setTimeout(() => finish({ kind: 'silent' }), Math.max(0, d.deadlineAt - Date.now()));
      const off = this.mirror.orders.onEvent((_e, rec) => {
        if (records.has(rec)) evaluate();
      });
      const offLost = this.requests.onSessionEnd(() => finish({ kind: 'lost' }));
      evaluate();
    });
  }
}
