import { EventName } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { Requests } from './requests.js';
import type { AccountFollower } from './account-follow.js';
import type { AccountPnL } from '../state/account.js';

/** Every tag reqAccountSummary accepts (IB's AccountSummaryTags). */
export const ACCOUNT_SUMMARY_TAGS = [
  'AccountType',
  'NetLiquidation',
  'TotalCashValue',
  'SettledCash',
  'AccruedCash',
  'BuyingPower',
  'EquityWithLoanValue',
  'PreviousDayEquityWithLoanValue',
  'GrossPositionValue',
  'RegTEquity',
  'RegTMargin',
  'SMA',
  'InitMarginReq',
  'MaintMarginReq',
  'AvailableFunds',
  'ExcessLiquidity',
  'Cushion',
  'FullInitMarginReq',
  'FullMaintMarginReq',
  'FullAvailableFunds',
  'FullExcessLiquidity',
  'LookAheadNextChange',
  'LookAheadInitMarginReq',
  'LookAheadMaintMarginReq',
  'LookAheadAvailableFunds',
  'LookAheadExcessLiquidity',
  'HighestSeverity',
  'DayTradesRemaining',
  'Leverage',
  '$LEDGER',
  '$LEDGER:ALL',
] as const;

export interface SummaryValue {
  account: string;
  tag: string;
  value: string;
  currency: string;
}

/**
 * Account summary (one-shot: requested, collected to its end marker, cancelled, since IB allows only two
 * summary subscriptions) and PnL (kept live in the mirror for every account of the login).
 */
export class AccountRequests {
  private readonly summaries = new Coalescer<SummaryValue[]>(0, () =>
    this.metrics?.coalesced.inc({ kind: 'account_summary' }),
  );

  constructor(
    private readonly requests: Requests,
    private readonly follower: Pick<AccountFollower, 'pnl'>,
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
            this.requests
              .sendInSession(session, 'account_summary_cancel', (api) => api.cancelAccountSummary(sentId))
              .catch(() => {});
          }
        },
        partial: () => ({ received: out.length }),
      });
    });
  }

  /**
   * The account's PnL from the mirror (kept live by the follower; served from its last state while the IB link
   * is down), waiting for IB's first report.
   */
  getPnL(account: string, d: Deadline): Promise<AccountPnL> {
    return this.follower.pnl(account, d);
  }
}
