import type { Logger } from '@ibrest/common';
import {
  ORDER_REF_PREFIX,
  reconcileOrders,
  type IbExecutionSnapshot,
  type IbOrderSnapshot,
} from '@ibrest/order-safety';
import type { CompletedOrder, CompletedOrders } from '../ib/completed-orders.js';
import type { IbConnection, IbSession } from '../ib/connection.js';
import type { Sync } from '../ib/sync.js';
import type { Mirror } from '../state/mirror.js';
import type { OrderRecord } from '../state/types.js';
import type { JournalSync } from './journal-sync.js';

export interface ReconcilerOptions {
  conn: IbConnection;
  mirror: Mirror;
  completed: CompletedOrders;
  journal: JournalSync;
  sync: Sync;
  /** The configured clientId (a lease may connect with a spare; both count as "own"). */
  configuredClientId: number;
  syncTimeoutMs: number;
  log: Logger;
}

/**
 * Reconciliation on every (re)connect. While a session syncs (the mirror re-reads open orders and the
 * day's executions), this also asks IB for completed orders, which is the only way to learn about an
 * order that ended while we were away. Once the session is ready, IB's view (open + completed orders,
 * executions with commissions) is compared with the journal; every missed fill, commission and status
 * change is appended with `reconciled: true`. Worker 0 reconciles every client's orders, the others
 * their own. Listeners of `onReconciled` (the idempotency resolver) run after the appends are durable.
 */
export class Reconciler {
  private reconciledSession: number | undefined;
  private afterDataLoss: { session: IbSession; completed: Promise<void> } | undefined;
  private waiters: (() => void)[] = [];
  private readonly listeners: ((session: IbSession) => Promise<void> | void)[] = [];
  private lastRun: { at: string; appended: number; completedOrders: number; complete: boolean } | undefined;
  /** The mirror epoch begun when the last session ended (undefined before the first session). */
  private sessionEpoch: number | undefined;
  /** The session's completed orders arrived whole (their end marker came). */
  private completeView = false;

  constructor(private readonly o: ReconcilerOptions) {
    o.conn.onSession(async (session) => {
      o.journal.pause();
      this.reconciledSession = undefined;
      this.sessionEpoch ??= o.mirror.orders.beginEpoch();
      const { orders, complete } = await o.completed.fetch(session, o.syncTimeoutMs);
      this.applyCompleted(orders);
      this.completeView = complete;
      this.lastRun = { at: new Date().toISOString(), appended: 0, completedOrders: orders.length, complete };
      if (!complete)
        o.log.warn({ received: orders.length }, 'completed orders: end marker missing; reconciling with what arrived');
    });
    o.conn.on('session', (session: IbSession) => {
      this.reconcile(session).catch((err) => o.log.error({ err }, 'order reconciliation failed'));
    });
    // A 1101 (data lost, socket kept) re-syncs the mirror without a new session: events that arrive meanwhile
    // are what the outage hid, so they are journalled by reconciliation (marked) rather than as live events.
    o.conn.on('dataLost', (session: IbSession) => {
      o.journal.pause();
      this.reconciledSession = undefined;
      const completed = o.completed.fetch(session, o.syncTimeoutMs).then(({ orders, complete }) => {
        this.applyCompleted(orders);
        this.lastRun = { at: new Date().toISOString(), appended: 0, completedOrders: orders.length, complete };
      });
      this.afterDataLoss = { session, completed };
    });
    o.sync.onResynced((session) => {
      const pending = this.afterDataLoss;
      if (pending === undefined || pending.session !== session) return;
      this.afterDataLoss = undefined;
      pending.completed
        .catch((err) => o.log.warn({ err }, 'completed orders after 1101 incomplete'))
        .then(() => this.reconcile(session))
        .catch((err) => o.log.error({ err }, 'order reconciliation after 1101 failed'));
    });
    o.conn.on('sessionEnd', () => {
      o.journal.pause();
      this.reconciledSession = undefined;
      // Everything IB reports from the next session on is marked, so what it no longer reports shows.
      this.sessionEpoch = o.mirror.orders.beginEpoch();
    });
  }

  /** True once the current session's reconciliation finished (the mirror then reflects IB for lookups). */
  get reconciled(): boolean {
    const s = this.o.conn.session;
    return s !== undefined && this.reconciledSession === s.id;
  }

  status() {
    return { reconciled: this.reconciled, lastRun: this.lastRun };
  }

  /** Resolves true when the current session is reconciled, false at `deadlineAt`. */
  whenReconciled(deadlineAt: number): Promise<boolean> {
    if (this.reconciled) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve(false);
        },
        Math.max(0, deadlineAt - Date.now()),
      );
      this.waiters.push(done);
    });
  }

  onReconciled(fn: (session: IbSession) => Promise<void> | void): void {
    this.listeners.push(fn);
  }

  private isOwn(clientId: number | undefined): boolean {
    const id = clientId ?? this.o.conn.clientId;
    return this.o.configuredClientId === 0 || id === this.o.configuredClientId || id === this.o.conn.clientId;
  }

  /** Completed orders this worker knows (or, on worker 0, all of them) move the mirror to their final state. */
  private applyCompleted(orders: CompletedOrder[]): void {
    const { mirror, journal } = this.o;
    for (const c of orders) {
      const known = mirror.orders.getByPermId(c.permId);
      const journalled = journal.projection.get({ permId: c.permId });
      const keyed = (c.orderRef ?? '').startsWith(ORDER_REF_PREFIX);
      if (known === undefined && journalled === undefined && this.o.configuredClientId !== 0 && !keyed) continue;
      // completedOrder carries no orderId: the mirror, then the journal (by permId, then by orderRef) know it.
      const byRef = keyed ? journal.projection.byOrderRef(c.orderRef!) : undefined;
      const orderId = known?.orderId ?? journalled?.orderId ?? byRef?.orderId ?? 0;
      const clientId = known?.clientId ?? journalled?.clientId ?? byRef?.clientId;
      if (!this.isOwn(clientId) && known === undefined) continue;
      mirror.apply({
        type: 'openOrder',
        orderId,
        contract: c.contract,
        order: { ...c.order, orderId, ...(clientId === undefined ? {} : { clientId }) },
        orderState: c.orderState,
      });
      mirror.apply({
        type: 'orderStatus',
        orderId,
        status: c.status,
        filled: c.filled,
        remaining: Math.max(0, c.totalQuantity - c.filled),
        avgFillPrice: known?.avgFillPrice ?? 0,
        permId: c.permId,
        ...(clientId === undefined ? {} : { clientId }),
      });
    }
  }

  private async reconcile(session: IbSession): Promise<void> {
    const { mirror, journal, log } = this.o;
    if (this.o.conn.session !== session) return;
    const orders: IbOrderSnapshot[] = mirror.orders
      .all()
      // An order IB never answered for (PendingSubmit from our own expect()) is not IB's view.
      .filter((r) => r.history.length > 0 && this.isOwn(r.clientId))
      .map(orderSnapshot);
    const executions: IbExecutionSnapshot[] = mirror.executions
      .query()
      .filter((e) => this.isOwn(e.execution.clientId))
      .map(({ contract, execution: x, commissionReport: c }) => ({
        execId: x.execId,
        orderId: x.orderId ?? 0,
        ...(x.permId ? { permId: x.permId } : {}),
        ...(x.clientId === undefined ? {} : { clientId: x.clientId }),
        ...(typeof x.orderRef === 'string' && x.orderRef !== '' ? { orderRef: x.orderRef } : {}),
        data: {
          symbol: contract.symbol,
          secType: contract.secType,
          time: x.time,
          side: x.side,
          shares: x.shares,
          price: x.price,
          cumQty: x.cumQty,
          avgPrice: x.avgPrice,
        },
        ...(c?.commission === undefined
          ? {}
          : { commission: { commission: c.commission, currency: c.currency, realizedPNL: c.realizedPNL } }),
      }));
    // Orders the mirror holds open that IB no longer reports (open or completed) after a new session: a
    // gateway that restarted with a fresh state. They end as Inactive, with the reason, instead of staying open.
    const epoch = this.sessionEpoch;
    if (epoch !== undefined && this.completeView && !this.afterDataLoss) {
      for (const r of mirror.orders.notSeenSince(epoch)) {
        if (!this.isOwn(r.clientId)) continue;
        const message = 'IB no longer reports this order after the gateway restarted';
        mirror.orders.finish(r, 'Inactive', { code: 0, message });
        orders.push(orderSnapshot(r));
      }
    }
    const missing = reconcileOrders(journal.projection, { orders, executions });
    // Appends are ordered by call, and live appending resumes in the same tick: no event falls between.
    const appends = missing.map((e) => journal.append(e));
    journal.resume();
    await Promise.all(appends);
    if (this.lastRun) this.lastRun.appended = missing.length;
    log.info(
      { sessionId: session.id, orders: orders.length, executions: executions.length, appended: missing.length },
      'orders reconciled',
    );
    if (this.o.conn.session !== session) return;
    for (const fn of this.listeners) {
      try {
        await fn(session);
      } catch (err) {
        log.error({ err }, 'after-reconcile step failed');
      }
    }
    this.reconciledSession = session.id;
    for (const w of this.waiters.splice(0)) w();
  }
}

function orderSnapshot(r: OrderRecord): IbOrderSnapshot {
  return {
    orderId: r.orderId,
    ...(r.permId ? { permId: r.permId } : {}),
    ...(r.clientId === undefined ? {} : { clientId: r.clientId }),
    ...(typeof r.order.orderRef === 'string' && r.order.orderRef !== '' ? { orderRef: r.order.orderRef } : {}),
    status: r.status,
    filled: r.filled,
    remaining: r.remaining,
    avgFillPrice: r.avgFillPrice,
  };
}
