import { historicalRequest } from '@ibrest/contract';
import { EventName, type BarSizeSetting, type Contract, type WhatToShow } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import { ibTimeToIso } from './ib-time.js';
import type { Requests } from './requests.js';

export interface BarQuery {
  contract: ContractData;
  /** "yyyyMMdd HH:mm:ss[ TZ]" or "" for now. */
  endDateTime: string;
  durationStr: string;
  barSizeSetting: string;
  whatToShow: string;
  useRTH: boolean;
  /** IB's formatDate: 1 "yyyyMMdd HH:mm:ss[ zone]" strings, 2 epoch seconds (ibTime only; `time` is ISO either way). */
  formatDate?: 1 | 2;
}

export interface TickQuery {
  contract: ContractData;
  /** Exactly one of start and end ("yyyyMMdd HH:mm:ss[ zone]" or "yyyyMMdd-HH:mm:ss" UTC). */
  startDateTime: string;
  endDateTime: string;
  numberOfTicks: number;
  whatToShow: 'TRADES' | 'BID_ASK' | 'MIDPOINT';
  useRTH: boolean;
  ignoreSize: boolean;
}

/** A historical tick: `time` ISO 8601 (UTC), `ibTime` IB's epoch seconds, and the fields of its kind. */
export interface HistoricalTick {
  time: string;
  ibTime: number;
  price?: number;
  size?: number;
  exchange?: string;
  specialConditions?: string;
  priceBid?: number;
  priceAsk?: number;
  sizeBid?: number;
  sizeAsk?: number;
  attributes?: Record<string, boolean>;
}

export interface Bar {
  /** ISO 8601: an instant in UTC for intraday bars, the trading date (yyyy-MM-dd) for daily and longer bars. */
  time: string;
  /** The time as IB sent it (formatDate 1: its string; 2: epoch seconds). */
  ibTime: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  count?: number;
  WAP: number;
}

/**
 * Historical bars and head timestamps: identical requests (by the request identity of @ibrest/contract,
 * the same one the proxy pins and paces on) share one IB request, and its answer for the cache period.
 * IB's historical pacing rules span every connection of the account, so they are applied pool-wide by
 * the proxy, which sees all traffic; a worker alone only shares and caches.
 */
export class HistoricalService {
  private readonly bars: Coalescer<Bar[]>;
  private readonly heads: Coalescer<string>;
  private readonly ticks: Coalescer<HistoricalTick[]>;

  constructor(
    private readonly requests: Requests,
    cacheMs: number,
    private readonly metrics?: WorkerMetrics,
    /** The zone TWS / the Gateway runs in (IB_TIME_ZONE): IB's times without a zone are in it. */
    private readonly timeZone = 'UTC',
  ) {
    this.bars = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'historical' }));
    this.heads = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'head_timestamp' }));
    this.ticks = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'historical_ticks' }));
  }

  getBars(q: BarQuery, d: Deadline): Promise<Bar[]> {
    const { contract, formatDate, ...rest } = q;
    // formatDate changes only how IB writes the times: part of what is cached, not of the request identity.
    const key = `${historicalRequest('bars', { ...contract, ...rest }).identity}|${formatDate ?? 1}`;
    return this.bars.run(key, () =>
      this.serving(() => {
        const out: Bar[] = [];
        return this.requests.run<Bar[]>({
          operation: 'historical',
          ...d,
          send: (api, reqId) =>
            api.reqHistoricalData(
              reqId,
              q.contract as Contract,
              q.endDateTime,
              q.durationStr,
              q.barSizeSetting as BarSizeSetting,
              q.whatToShow as WhatToShow,
              q.useRTH ? 1 : 0,
              formatDate ?? 1,
              false,
            ),
          cancel: (api, reqId) => api.cancelHistoricalData(reqId),
          onEvent: (name, args, done) => {
            if (name !== EventName.historicalData) return;
            const [time, open, high, low, close, volume, count, WAP] = args as [
              string,
              number,
              number,
              number,
              number,
              number,
              number | undefined,
              number,
            ];
            // @stoqey/ib marks the end with a pseudo-bar whose time starts with "finished".
            if (typeof time === 'string' && time.startsWith('finished')) done(out);
            else out.push(toBar(time, open, high, low, close, volume, count, WAP, this.timeZone));
          },
          partial: () => ({ bars: out.length }),
        });
      }),
    );
  }

  getHeadTimestamp(q: { contract: ContractData; whatToShow: string; useRTH: boolean }, d: Deadline): Promise<string> {
    const { contract, ...rest } = q;
    const key = historicalRequest('head', { ...contract, ...rest }).identity;
    return this.heads.run(key, () =>
      this.serving(() =>
        this.requests.run<string>({
          operation: 'head_timestamp',
          ...d,
          send: (api, reqId) =>
            api.reqHeadTimestamp(reqId, q.contract as Contract, q.whatToShow as WhatToShow, q.useRTH, 1),
          cancel: (api, reqId) => api.cancelHeadTimestamp(reqId),
          onEvent: (name, args, done) => {
            if (name === EventName.headTimestamp) done(String(args[0]));
          },
        }),
      ),
    );
  }

  /** reqHistoricalTicks: up to 1,000 ticks from a start or back from an end (TRADES, BID_ASK, MIDPOINT). */
  getTicks(q: TickQuery, d: Deadline): Promise<HistoricalTick[]> {
    const { contract, ...rest } = q;
    const key = JSON.stringify(['ticks', Object.entries(contract).sort(([a], [b]) => a.localeCompare(b)), rest]);
    return this.ticks.run(key, () =>
      this.serving(() => {
        const out: HistoricalTick[] = [];
        return this.requests.run<HistoricalTick[]>({
          operation: 'historical_ticks',
          ...d,
          send: (api, reqId) =>
            api.reqHistoricalTicks(
              reqId,
              q.contract as Contract,
              q.startDateTime,
              q.endDateTime,
              q.numberOfTicks,
              q.whatToShow as WhatToShow,
              q.useRTH,
              q.ignoreSize,
            ),
          onEvent: (name, args, done) => {
            if (!TICK_EVENTS.includes(name)) return;
            const [ticks, finished] = args as [Record<string, unknown>[] | undefined, boolean];
            for (const t of ticks ?? []) out.push(toTick(t));
            if (finished) done(out);
          },
          partial: () => ({ ticks: out.length }),
        });
      }),
    );
  }

  private async serving<T>(run: () => Promise<T>): Promise<T> {
    this.requests.assertServing();
    return run();
  }
}

const TICK_EVENTS: string[] = [
  EventName.historicalTicks,
  EventName.historicalTicksBidAsk,
  EventName.historicalTicksLast,
];
const TICK_FIELDS = [
  'price',
  'size',
  'exchange',
  'specialConditions',
  'priceBid',
  'priceAsk',
  'sizeBid',
  'sizeAsk',
] as const;

/** One bar with its time as ISO 8601 and as IB sent it. */
export function toBar(
  time: string | number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: number,
  count: number | undefined,
  WAP: number,
  zone: string,
): Bar {
  const ibTime = String(time);
  const iso = ibTimeToIso(ibTime, zone) ?? ibTime;
  return { time: iso, ibTime, open, high, low, close, volume, ...(count !== undefined ? { count } : {}), WAP };
}

function toTick(t: Record<string, unknown>): HistoricalTick {
  const ibTime = Number(t.time);
  const out: HistoricalTick = { time: new Date(ibTime * 1000).toISOString(), ibTime };
  for (const k of TICK_FIELDS) {
    if (t[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = t[k];
  }
  const attributes = (t.tickAttribLast ?? t.tickAttribBidAsk) as Record<string, boolean> | undefined;
  if (attributes !== undefined) out.attributes = { ...attributes };
  return out;
}
