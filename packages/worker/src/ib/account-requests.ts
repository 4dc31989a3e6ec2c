import { EventName } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { Requests } from './requests.js';
import type { SubscriptionHandle, SubscriptionRegistry } from './subscriptions.js';
import { DeadlineExceededError } from '../errors.js';
import { ibErrorToApiError } from './error-codes.js';

/** Every tag reqAccountSummary accepts (IB's AccountSummaryTags). */
export const ACCOUNT_SUMMARY_TAGS = [
  'AccountType', 'NetLiquidation', 'TotalCashValue', 'SettledCash', 'AccruedCash', 'BuyingPower', 'EquityWithLoanValue',
  'PreviousDayEquityWithLoanValue', 'GrossPositionValue', 'RegTEquity', 'RegTMargin', 'SMA', 'InitMarginReq',
  'MaintMarginReq', 'AvailableFunds', 'ExcessLiquidity', 'Cushion', 'FullInitMarginReq', 'FullMaintMarginReq',
  'FullAvailableFunds', 'FullExcessLiquidity', 'LookAheadNextChange', 'LookAheadInitMarginReq', 'LookAheadMaintMarginReq',
  'LookAheadAvailableFunds', 'LookAheadExcessLiquidity', 'HighestSeverity', 'DayTradesRemaining', 'Leverage',
  '$LEDGER', '$LEDGER:ALL',
] as const;

export interface SummaryValue {
  account: string;
  tag: string;
  value: string;
  currency: string;
}

export interface PnL {
  account: string;
  dailyPnL?: number;
  unrealizedPnL?: number;
  realizedPnL?: number;
  updatedAt: string;
}

interface PnlEntry {
  handle?: SubscriptionHandle;
  latest?: PnL;
  error?: Error;
  /** Callers waiting for the first value. */
  waiters: Set<() => void>;
}

/**
 * Account summary (one-shot: requested, collected to its end marker, cancelled, since IB allows only two
 * summary subscriptions) and PnL (a live subscription per account, kept once asked for and
 * re-established after outages, so later reads are answered at once).
 */
export class AccountRequests {
  private readonly summaries = new Coalescer<SummaryValue[]>(0, () => this.metrics?.coalesced.inc({ kind: 'account_summary' }));
  /** account → live PnL subscription and its latest value */
  private readonly pnl = new Map<string, PnlEntry>();

  constructor(
    private readonly requests: Requests,
    private readonly subscriptions: SubscriptionRegistry,
    private readonly metrics?: WorkerMetrics,
  ) {}

  summary(group: string, tags: string[], d: Deadline): Promise<SummaryValue[]> {
    const tagList = tags.join(',');
    return this.summaries.run(`${group}|${tagList}`, () => {
      const out: SummaryValue[] = [];
      let sentId = -1;
      return this.requests.run<SummaryValue[]>({
        operation: 'account_summary',
        ...d,
        send: (api, reqId) => {
          sentId = reqId;
          api.reqAccountSummary(reqId, group, tagList);
        },
        cancel: (api, reqId) => api.cancelAccountSummary(reqId),
        onEvent: (name, args, done) => {
          if (name === EventName.accountSummary) {
            const [account, tag, value, currency] = args as string[];
            out.push({ account: account!, tag: tag!, value: value!, currency: currency ?? '' });
          } else if (name === EventName.accountSummaryEnd) {
            done(out);
            // The summary keeps streaming until cancelled; we only wanted the snapshot.
            const session = this.requests.assertServing();
            this.requests.sendInSession(session, 'account_summary_cancel', (api) => api.cancelAccountSummary(sentId)).catch(() => {});
          }
        },
        partial: () => ({ received: out.length }),
      });
    });
  }

  async getPnL(account: string, d: Deadline): Promise<PnL> {
    this.requests.assertServing();
    let live = this.pnl.get(account);
    if (live === undefined) {
      const e: PnlEntry = { waiters: new Set() };
      const wake = () => {
        for (const w of e.waiters) w();
        e.waiters.clear();
      };
      e.handle = this.subscriptions.acquire({
        key: `pnl:${account}`,
        kind: 'pnl',
        lines: 0,
        start: (api, reqId) => api.reqPnL(reqId, account, ''),
        cancel: (api, reqId) => api.cancelPnL(reqId),
        onEvent: (name, args) => {
          if (name !== EventName.pnl) return;
          const [dailyPnL, unrealizedPnL, realizedPnL] = args as (number | undefined)[];
          e.latest = { account, dailyPnL, unrealizedPnL, realizedPnL, updatedAt: new Date().toISOString() };
          e.error = undefined;
          wake();
        },
        onError: (err) => {
          e.error = ibErrorToApiError(err.code, err.message, { operation: 'pnl' });
          wake();
        },
      });
      live = e;
      this.pnl.set(account, e);
    }
    const entry = live;
    if (entry.latest !== undefined) return entry.latest;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.waiters.delete(done);
        reject(new DeadlineExceededError('pnl', d.timeoutMs, { account }));
      }, Math.max(0, d.deadlineAt - Date.now()));
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      entry.waiters.add(done);
    });
    if (entry.latest === undefined) {
      // IB refused the subscription (unknown account…): drop it so the next call retries.
      entry.handle?.release();
      this.pnl.delete(account);
      throw entry.error ?? new DeadlineExceededError('pnl', d.timeoutMs, { account });
    }
    return entry.latest;
  }

  /** Accounts with a live PnL subscription. */
  pnlAccounts(): string[] {
    return [...this.pnl.keys()];
  }
}
