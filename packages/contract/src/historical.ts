import { CONTRACT_FIELDS, contractFieldsOf } from './contract-query.js';
import { param, type Query } from './query.js';

/** Bar sizes IB accepts for reqHistoricalData, smallest first. */
export const BAR_SIZES = [
  '1 secs',
  '5 secs',
  '10 secs',
  '15 secs',
  '30 secs',
  '1 min',
  '2 mins',
  '3 mins',
  '5 mins',
  '10 mins',
  '15 mins',
  '20 mins',
  '30 mins',
  '1 hour',
  '2 hours',
  '3 hours',
  '4 hours',
  '8 hours',
  '1 day',
  '1 week',
  '1 month',
] as const;

export const HISTORICAL_DEFAULTS = {
  endDateTime: '',
  durationStr: '1 D',
  barSizeSetting: '1 hour',
  whatToShow: 'TRADES',
  useRTH: true,
} as const;

/** Seconds of one bar (`"30 secs"` → 30, `"1 day"` → 86400); undefined for an unknown setting. */
export function barSeconds(setting: string): number | undefined {
  const m = /^(\d+) (sec|secs|min|mins|hour|hours|day|days|week|weeks|month|months)$/.exec(setting.trim());
  if (m === null) return undefined;
  const unit = m[2]!.replace(/s$/, '');
  const per: Record<string, number> = { sec: 1, min: 60, hour: 3600, day: 86400, week: 604800, month: 2592000 };
  return Number(m[1]) * per[unit]!;
}

/**
 * IB applies its historical pacing rules (no identical request within 15 s, no 6 requests for one
 * contract + exchange + tick type within 2 s, no more than 60 requests in 10 minutes) to bars of
 * 30 seconds or less; for larger bars the limits are lifted (historical_limitations.html).
 */
export const PACED_BAR_SECONDS = 30;

export interface HistoricalRequestIdentity {
  kind: 'bars' | 'head';
  /** Every parameter that makes two requests identical: what the worker coalesces and caches on. */
  identity: string;
  /** Contract + exchange + tick type: the scope of IB's "6 within 2 s" rule. */
  contract: string;
  /** How IB counts the request towards its count rules: BID_ASK counts twice. */
  weight: 1 | 2;
  /** Whether IB's historical pacing rules apply (bars ≤ 30 s); head timestamps and larger bars: false. */
  paced: boolean;
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return !(v === 'false' || v === '0');
}

/**
 * The identity of a `GET /historical` (`kind` bars) or `GET /historical/head-timestamp` (`kind` head)
 * request, from its query with the route's defaults applied. The worker coalesces and caches on
 * `identity`; the proxy pins identical requests to one worker with it and paces with it. One function, so
 * the two can never disagree about which requests are "identical".
 */
export function historicalRequest(kind: 'bars' | 'head', q: Query): HistoricalRequestIdentity {
  const c = contractFieldsOf(q);
  const contract = CONTRACT_FIELDS.map((f) => c[f] ?? '');
  const whatToShow = (param(q, 'whatToShow') ?? HISTORICAL_DEFAULTS.whatToShow).toUpperCase();
  const useRTH = bool(param(q, 'useRTH'), HISTORICAL_DEFAULTS.useRTH);
  const contractKey = JSON.stringify([...contract, whatToShow]);
  if (kind === 'head') {
    return {
      kind,
      identity: JSON.stringify(['head', ...contract, whatToShow, useRTH]),
      contract: contractKey,
      weight: 1,
      paced: false,
    };
  }
  const endDateTime = param(q, 'endDateTime') ?? HISTORICAL_DEFAULTS.endDateTime;
  const durationStr = param(q, 'durationStr') ?? HISTORICAL_DEFAULTS.durationStr;
  const barSizeSetting = param(q, 'barSizeSetting') ?? HISTORICAL_DEFAULTS.barSizeSetting;
  const seconds = barSeconds(barSizeSetting);
  return {
    kind,
    identity: JSON.stringify(['bars', ...contract, endDateTime, durationStr, barSizeSetting, whatToShow, useRTH]),
    contract: contractKey,
    weight: whatToShow === 'BID_ASK' ? 2 : 1,
    paced: seconds !== undefined && seconds <= PACED_BAR_SECONDS,
  };
}
