import { EventName, type CommissionReport, type Contract, type Execution, type Order, type OrderState } from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import type { ContractData, Fields } from '../state/types.js';
import type { IbConnection, IbSession, RequestErrorEvent } from './connection.js';
import type { OrderIds } from './order-ids.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

/**
 * Keeps the mirror live: translates IB's account/order events into mirror events (nothing else writes
 * the mirror), and on every session and after 1101 re-requests positions, account updates, open orders
 * and the day's executions. All requests go through the pacer at background priority.
 */
export class Sync {
  private waiters: { event: string; match: (args: unknown[]) => boolean; resolve: () => void }[] = [];

  constructor(
    private readonly conn: IbConnection,
    private readonly requests: Requests,
    private readonly mirror: Mirror,
    private readonly orderIds: OrderIds,
    private readonly options: { syncTimeoutMs: number; log: Logger; metrics?: WorkerMetrics },
  ) {
    const apply = this.mirror.apply.bind(this.mirror);
    // Read on every event: a clientId lease may move the worker to a spare clientId.
    const own = () => conn.clientId;
    conn.listen(EventName.openOrder, (orderId: number, contract: Contract, order: Order, orderState: OrderState) => {
      // A what-if preview is not an order (ib/what-if.ts answers it).
      if (order?.whatIf) return;
      if ((order.clientId ?? own()) === own()) orderIds.seen(orderId);
      apply({ type: 'openOrder', orderId, contract: plain(contract), order: plain(order), orderState: plain(orderState) });
    });
    conn.listen(
      EventName.orderStatus,
      (orderId: number, status: string, filled: number, remaining: number, avgFillPrice: number, permId?: number, parentId?: number, lastFillPrice?: number, clientId?: number, whyHeld?: string) => {
        if ((clientId ?? own()) === own()) orderIds.seen(orderId);
        apply({ type: 'orderStatus', orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId, whyHeld });
      },
    );
    // Executions answering our own reqExecutions arrive with that reqId; live fills with −1. Both feed the mirror.
    conn.listen(EventName.execDetails, (_reqId: number, contract: Contract, execution: Execution) => {
      if (typeof execution?.execId !== 'string') return;
      apply({ type: 'execution', contract: plain(contract), execution: { ...plain(execution), execId: execution.execId } });
    });
    conn.listen(EventName.commissionReport, (report: CommissionReport) => {
      if (typeof report?.execId !== 'string') return;
      apply({ type: 'commission', report: { ...plain(report), execId: report.execId } });
    });
    conn.listen(EventName.position, (account: string, contract: Contract, pos: number, avgCost?: number) =>
      apply({ type: 'position', account, contract: plain(contract), pos, avgCost }),
    );
    conn.listen(EventName.updateAccountValue, (key: string, value: string, currency: string, account: string) =>
      apply({ type: 'accountValue', account, key, value, currency }),
    );
    conn.listen(
      EventName.updatePortfolio,
      (contract: Contract, position: number, marketPrice: number, marketValue: number, averageCost?: number, unrealizedPNL?: number, realizedPNL?: number, account?: string) =>
        apply({
          type: 'portfolio',
          item: { account: account ?? '', contract: plain(contract), position, marketPrice, marketValue, averageCost, unrealizedPNL, realizedPNL },
        }),
    );
    conn.listen(EventName.updateAccountTime, (time: string) => apply({ type: 'accountTime', time }));
    conn.listen(EventName.accountDownloadEnd, (account: string) => apply({ type: 'accountDownloadEnd', account }));
    conn.listen(EventName.positionEnd, () => apply({ type: 'positionsEnd' }));
    conn.listen(EventName.nextValidId, (id: number) => orderIds.floor(id));
    // Errors for order ids (not request ids) belong to the order store.
    conn.on('requestError', (e: RequestErrorEvent) => {
      if (!requests.owns(e.reqId)) apply({ type: 'orderError', orderId: e.reqId, code: e.code, message: e.message });
    });
    for (const event of [EventName.positionEnd, EventName.accountDownloadEnd, EventName.openOrderEnd, EventName.execDetailsEnd]) {
      conn.listen(event, (...args: unknown[]) => this.notify(event, args));
    }
    conn.onSession((session) => this.run(session, 'session'));
    conn.on('dataLost', (session: IbSession) => {
      this.run(session, '1101')
        .catch((err) => this.options.log.warn({ err }, 're-sync after 1101 incomplete'))
        .finally(() => {
          for (const fn of this.resyncedListeners) fn(session);
        });
    });
  }

  private readonly resyncedListeners: Array<(session: IbSession) => void> = [];

  /** Called after the re-sync that follows a 1101 (data lost) has finished or given up. */
  onResynced(listener: (session: IbSession) => void): void {
    this.resyncedListeners.push(listener);
  }

  /** Requests every mirrored stream and waits (bounded) for their end markers. */
  async run(session: IbSession, reason: string): Promise<void> {
    const { log } = this.options;
    const started = Date.now();
    this.orderIds.floor(session.nextValidId);
    const send = (op: string, fn: (api: IbSession['api']) => void) =>
      this.requests.sendInSession(session.id, op, fn, { priority: PRIORITY.background });
    const account = session.accounts[0];
    const execReqId = this.requests.allocate();
    const waits = [
      this.wait(EventName.positionEnd, () => true),
      this.wait(EventName.openOrderEnd, () => true),
      this.wait(EventName.execDetailsEnd, (args) => args[0] === execReqId),
    ];
    if (account !== undefined) waits.push(this.wait(EventName.accountDownloadEnd, (args) => args[0] === account));
    // IB's nextValidId again (it came with the handshake): after a gateway restart with a fresh id
    // sequence the answer may be lower than ids already used; OrderIds keeps the higher of the two.
    await send('req_ids', (api) => api.reqIds(1));
    this.mirror.apply({ type: 'positionsBegin' });
    await send('positions', (api) => api.reqPositions());
    if (account !== undefined) await send('account_updates', (api) => api.reqAccountUpdates(true, account));
    if (this.conn.clientId === 0) {
      // Only clientId 0 can bind orders placed by hand in TWS (and see every client's orders).
      await send('auto_open_orders', (api) => api.reqAutoOpenOrders(true));
      await send('all_open_orders', (api) => api.reqAllOpenOrders());
    } else {
      await send('open_orders', (api) => api.reqOpenOrders());
    }
    await send('executions', (api) => api.reqExecutions(execReqId, {}));
    const results = await Promise.all(waits);
    const missing = results.filter((r) => r !== true);
    if (missing.length > 0) log.warn({ reason, missing }, 'sync end markers missing; continuing with what arrived');
    log.info({ reason, ms: Date.now() - started, orders: this.mirror.orders.all().length, positions: this.mirror.positions.all().length }, 'mirror synced');
  }

  private wait(event: string, match: (args: unknown[]) => boolean): Promise<true | string> {
    return new Promise((resolve) => {
      const waiter = { event, match, resolve: () => resolve(true) };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(event);
      }, this.options.syncTimeoutMs).unref();
    });
  }

  private notify(event: string, args: unknown[]): void {
    const done = this.waiters.filter((w) => w.event === event && w.match(args));
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }
}

/** A JSON-safe shallow copy without undefined values (IB's unset fields). */
export function plain(o: unknown): Fields & ContractData {
  const out: Fields = {};
  if (o === null || typeof o !== 'object') return out;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || typeof v === 'function') continue;
    out[k] = v;
  }
  return out;
}
