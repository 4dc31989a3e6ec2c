import type { Logger } from '@ibrest/common';
import type { OrderEvent as JournalEvent, OrderEventInput, OrderJournal, OrderProjection } from '@ibrest/order-safety';
import { classifyIbCode } from '../ib/error-codes.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import type { OrderEvent, OrderRecord } from '../state/types.js';

/**
 * Writes the order journal: live order events from the mirror's event stream, the order path's own
 * facts (accepted, sent, modify/cancel requested, refused before sending) and reconciliation results.
 *
 * While a session is being (re)synced the mirror replays IB's whole view (open orders, the day's
 * executions); those events are not "live" and are left to the reconciler, which diffs IB's view against
 * the journal once the sync is done. So live appending pauses from the start of a session's sync until
 * the reconciler resumes it, in the same tick as it takes its snapshot: nothing is lost in between.
 */
export class JournalSync {
  private paused = true;

  constructor(
    private readonly journal: OrderJournal,
    readonly projection: OrderProjection,
    mirror: Mirror,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {
    journal.subscribe((e) => projection.apply(e), { since: projection.lastCursor });
    mirror.orders.onEvent((e, rec) => {
      if (this.paused) return;
      const input = journalEventFor(e, rec);
      if (input === undefined) return;
      // Fills and commissions carry IB's execId: the one fact that tells a duplicate for sure.
      if (
        (input.type === 'fill' && this.projection.hasFill(input.execId!)) ||
        (input.type === 'commission' && this.projection.hasCommission(input.execId!))
      )
        return;
      this.append(input);
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /**
   * Appends one event. The cursor is assigned synchronously (call order = journal order); the promise
   * resolves once durable. A failed append is logged and rethrown to the caller that awaits it.
   */
  append(input: OrderEventInput): Promise<JournalEvent> {
    this.metrics?.journalEvents.inc({ type: input.type });
    if (input.reconciled) this.metrics?.reconciledEvents.inc({ type: input.type });
    const p = this.journal.append(input);
    p.catch((err) => this.log.error({ err, type: input.type, orderId: input.orderId }, 'order journal append failed'));
    return p;
  }
}

/** The journal's view of one mirror event (undefined for events the journal does not keep). */
export function journalEventFor(e: OrderEvent, rec: OrderRecord): OrderEventInput | undefined {
  const ids: OrderEventInput = { type: 'status', orderId: rec.orderId, clientId: rec.clientId };
  if (rec.permId) ids.permId = rec.permId;
  if (typeof rec.order.orderRef === 'string' && rec.order.orderRef !== '') ids.orderRef = rec.order.orderRef;
  switch (e.type) {
    case 'status':
      return {
        ...ids,
        // 'cancelled' is the journal's name for IB's Cancelled; ApiCancelled stays a plain status change.
        type: e.status === 'Cancelled' ? 'cancelled' : 'status',
        status: e.status,
        data: { filled: rec.filled, remaining: rec.remaining, avgFillPrice: rec.avgFillPrice },
      };
    case 'fill':
      if (e.fill === undefined) return undefined;
      return { ...ids, type: 'fill', execId: e.fill.execId, data: fillData(rec, e.fill) };
    case 'commission':
      if (e.fill?.commission === undefined) return undefined;
      return {
        ...ids,
        type: 'commission',
        execId: e.fill.execId,
        data: { commission: e.fill.commission, currency: e.fill.commissionCurrency, realizedPNL: e.fill.realizedPNL },
      };
    case 'error':
      // Every refusal IB sends for an order (classified once in ib/error-codes.ts); 202 is a cancel.
      if (e.error === undefined || classifyIbCode(e.error.code) !== 'request' || e.error.code === 202) return undefined;
      return { ...ids, type: 'rejected', ibCode: e.error.code, data: { message: e.error.message } };
    default:
      return undefined;
  }
}

function fillData(rec: OrderRecord, f: NonNullable<OrderEvent['fill']>): Record<string, unknown> {
  const out: Record<string, unknown> = { symbol: rec.contract.symbol, secType: rec.contract.secType };
  for (const [k, v] of Object.entries(f)) if (v !== undefined && k !== 'execId') out[k] = v;
  return out;
}
