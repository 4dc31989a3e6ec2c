import {
  EventName,
  type CommissionReport,
  type Contract,
  type Execution,
  type Order,
  type OrderState,
} from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import type { ContractData, Fields } from '../state/types.js';
import type { IbConnection, IbSession, RequestErrorEvent } from './connection.js';
import { ibTimeToIso } from './ib-time.js';
import type { OrderIds } from './order-ids.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

/**
 * Keeps the mirror live: translates IB's account/order events into mirror events (nothing else writes
 * the mirror), and on every session and after 1101 re-requests positions, account updates, open orders
 * and the day's executions. All requests go through the pacer at background priority.
 */
/** IB: reqPositions serves logins of up to 50 sub-accounts; beyond, reqPositionsMulti per account. */
export const POSITIONS_ALL_MAX_ACCOUNTS = 50;

export class Sync {
  private waiters: { event: string; match: (args: unknown[]) => boolean; resolve: () => void }[] = [];

  constructor(
    private readonly conn: IbConnection,
    private readonly requests: Requests,
    private readonly mirror: Mirror,
    private readonly orderIds: OrderIds,
    private readonly options: {
      syncTimeoutMs: number;
      log: Logger;
      metrics?: WorkerMetrics;
      /** IB_TIME_ZONE: the zone of IB's times that name none. */
      timeZone?: string;
      /** Told the managed accounts at every sync (the PnL follower subscribes to them). */
      onAccounts?: (accounts: readonly string[]) => void;
    },
  ) {
    const apply = this.mirror.apply.bind(this.mirror);
    // Read on every event: a clientId lease may move the worker to a spare clientId.
    const own = () => conn.clientId;
    conn.listen(EventName.openOrder, (orderId: number, contract: Contract, order: Order, orderState: OrderState) => {
      // A what-if preview is not an order (ib/what-if.ts answers it).
      if (order?.whatIf) return;
      if ((order.clientId ?? own()) === own()) orderIds.seen(orderId);
      apply({
        type: 'openOrder',
        orderId,
        contract: plain(contract),
        order: plain(order),
        orderState: plain(orderState),
      });
    });
    conn.listen(
      EventName.orderStatus,
      (
        orderId: number,
        status: string,
        filled: number,
        remaining: number,
        avgFillPrice: number,
        permId?: number,
        parentId?: number,
        lastFillPrice?: number,
        clientId?: number,
        whyHeld?: string,
      ) => {
        if ((clientId ?? own()) === own()) orderIds.seen(orderId);
        apply({
          type: 'orderStatus',
          orderId,
          status,
          filled,
          remaining,
          avgFillPrice,
          permId,
          parentId,
          lastFillPrice,
          clientId,
          whyHeld,
        });
      },
    );
    // Executions answering our own reqExecutions arrive with that reqId; live fills with −1. Both feed the mirror.
    conn.listen(EventName.execDetails, (_reqId: number, contract: Contract, execution: Execution) => {
      if (typeof execution?.execId !== 'string') return;
      // IB's time ("yyyyMMdd HH:mm:ss zone") stays as `time`; `isoTime` is the same instant in ISO 8601.
      const isoTime = ibTimeToIso(execution.time, this.options.timeZone);
      const data = { ...plain(execution), execId: execution.execId, ...(isoTime ? { isoTime } : {}) };
      apply({ type: 'execution', contract: plain(contract), execution: data });
    });
    conn.listen(EventName.commissionReport, (report: CommissionReport) => {
      if (typeof report?.execId !== 'string') return;
      apply({ type: 'commission', report: { ...plain(report), execId: report.execId } });
    });
    conn.listen(EventName.position, (account: string, contract: Contract, pos: number, avgCost?: number) =>
      apply({ type: 'position', account, contract: plain(contract), pos, avgCost }),
    );
    conn.listen(EventName.positionEnd, () => apply({ type: 'positionsEnd' }));
    conn.listen(EventName.nextValidId, (id: number) => orderIds.floor(id));
    // Errors for order ids (not request ids) belong to the order store.
    conn.on('requestError', (e: RequestErrorEvent) => {
      if (!requests.owns(e.reqId)) apply({ type: 'orderError', orderId: e.reqId, code: e.code, message: e.message });
    });
    for (const event of [
      EventName.positionEnd,
      EventName.accountDownloadEnd,
      EventName.openOrderEnd,
      EventName.execDetailsEnd,
    ]) {
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
  /** reqIds of the account-value subscriptions of the current sync (one per managed account). */
  private accountReqIds: number[] = [];
  /** reqIds of the per-account position subscriptions (logins with more than 50 sub-accounts). */
  private positionReqIds: number[] = [];
  /** Accounts IB refused to stream (none normally); reported by /health. */
  readonly refusedAccounts = new Map<string, { code: number; message: string }>();

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
    const execReqId = this.requests.allocate();
    // IB: reqPositions is not available to a login with more than 50 sub-accounts; reqPositionsMulti per account is.
    const perAccount = session.accounts.length > POSITIONS_ALL_MAX_ACCOUNTS;
    const waits = [
      ...(perAccount ? [] : [this.wait(EventName.positionEnd, () => true)]),
      this.wait(EventName.openOrderEnd, () => true),
      this.wait(EventName.execDetailsEnd, (args) => args[0] === execReqId),
    ];
    // IB's nextValidId again (it came with the handshake): after a gateway restart with a fresh id
    // sequence the answer may be lower than ids already used; OrderIds keeps the higher of the two.
    await send('req_ids', (api) => api.reqIds(1));
    this.mirror.apply({ type: 'positionsBegin' });
    if (perAccount) waits.push(this.positionsPerAccount(session));
    else await send('positions', (api) => api.reqPositions());
    // Every managed account's values (an FA or multi-account login has several): one reqAccountUpdatesMulti
    // each, as IB permits for any number of accounts, where reqAccountUpdates follows only one.
    for (const reqId of this.accountReqIds) this.requests.unregister(reqId);
    this.accountReqIds = [];
    this.refusedAccounts.clear();
    for (const account of session.accounts) {
      const reqId = this.requests.allocate();
      this.accountReqIds.push(reqId);
      waits.push(this.followAccount(session, reqId, account));
    }
    this.options.onAccounts?.(session.accounts);
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
    log.info(
      {
        reason,
        ms: Date.now() - started,
        orders: this.mirror.orders.all().length,
        positions: this.mirror.positions.all().length,
      },
      'mirror synced',
    );
  }

  /**
   * Positions of a login with more than 50 sub-accounts: one reqPositionsMulti per account (IB's documented way),
   * each kept live like reqPositions. Resolves when every account's end marker came (or IB refused it): then the
   * snapshot is complete, as positionEnd says for reqPositions.
   */
  private async positionsPerAccount(session: IbSession): Promise<true | string> {
    for (const reqId of this.positionReqIds) this.requests.unregister(reqId);
    this.positionReqIds = [];
    const accounts = session.accounts.map((account) => {
      const reqId = this.requests.allocate();
      this.positionReqIds.push(reqId);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.options.syncTimeoutMs);
        timer.unref();
        const done = (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        };
        this.requests.register(reqId, {
          event: (name, args) => {
            if (name === EventName.positionMulti) {
              const [acct, , contract, pos, avgCost] = args as [string, string, Contract, number, number];
              this.mirror.apply({
                type: 'position',
                account: acct || account,
                contract: plain(contract),
                pos,
                avgCost,
              });
            } else if (name === EventName.positionMultiEnd) {
              done(true);
            }
          },
          error: (e) => {
            this.options.log.warn({ account, ibCode: e.code }, `positions refused: ${e.message}`);
            done(true);
          },
        });
        this.requests
          .sendInSession(session.id, 'positions', (api) => api.reqPositionsMulti(reqId, account, ''), {
            priority: PRIORITY.background,
          })
          .catch(() => done(false));
      });
    });
    const ended = await Promise.all(accounts);
    if (ended.every(Boolean)) {
      this.mirror.apply({ type: 'positionsEnd' });
      return true;
    }
    return 'positionMultiEnd';
  }

  /** Subscribes to one account's values; resolves at its end marker, or when IB refuses the account. */
  private followAccount(session: IbSession, reqId: number, account: string): Promise<true | string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(`accountUpdateMultiEnd:${account}`), this.options.syncTimeoutMs);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.requests.register(reqId, {
        event: (name, args) => {
          if (name === EventName.accountUpdateMulti) {
            const [acct, , key, value, currency] = args as string[];
            const v = { account: acct || account, key: key!, value: value ?? '', currency: currency ?? '' };
            this.mirror.apply({ type: 'accountValue', ...v });
          } else if (name === EventName.accountUpdateMultiEnd) {
            this.mirror.apply({ type: 'accountDownloadEnd', account });
            done();
          }
        },
        error: (e) => {
          this.refusedAccounts.set(account, { code: e.code, message: e.message });
          this.options.log.warn({ account, ibCode: e.code }, `account values refused: ${e.message}`);
          done();
        },
      });
      this.requests
        .sendInSession(session.id, 'account_updates', (api) => api.reqAccountUpdatesMulti(reqId, account, '', false), {
          priority: PRIORITY.background,
        })
        .catch(() => done());
    });
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
