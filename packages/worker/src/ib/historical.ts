import { EventName, type BarSizeSetting, type Contract, type WhatToShow } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { HistoricalPacer, HistoricalSlot } from './historical-pacing.js';
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
 * Historical bars and head timestamps under IB's historical pacing rules: identical requests share one
 * IB request (and its answer for the cache period), every other request gets a slot from the
 * HistoricalPacer or a 429 with the exact wait, before anything reaches IB.
 */
export class HistoricalService {
  private readonly bars: Coalescer<Bar[]>;
  private readonly heads: Coalescer<string>;
  private readonly ticks: Coalescer<HistoricalTick[]>;

  constructor(
    private readonly requests: Requests,
    private readonly pacing: HistoricalPacer,
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
    const contractKey = contractIdentity(q.contract);
    const slot: HistoricalSlot = {
      key: JSON.stringify(['bars', contractKey, q.endDateTime, q.durationStr, q.barSizeSetting, q.whatToShow, q.useRTH, q.formatDate ?? 1]),
      contractKey: JSON.stringify([contractKey, q.whatToShow]),
      weight: q.whatToShow === 'BID_ASK' ? 2 : 1,
    };
    return this.bars.run(slot.key, () =>
      this.paced(slot, d, () => {
        const out: Bar[] = [];
        return this.requests.run<Bar[]>({
          operation: 'historical',
          ...d,
          send: (api, reqId) =>
            api.reqHistoricalData(reqId, q.contract as Contract, q.endDateTime, q.durationStr, q.barSizeSetting as BarSizeSetting, q.whatToShow as WhatToShow, q.useRTH ? 1 : 0, q.formatDate ?? 1, false),
          cancel: (api, reqId) => api.cancelHistoricalData(reqId),
          onEvent: (name, args, done) => {
            if (name !== EventName.historicalData) return;
            const [time, open, high, low, close, volume, count, WAP] = args as [string, number, number, number, number, number, number | undefined, number];
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
    const contractKey = contractIdentity(q.contract);
    const slot: HistoricalSlot = {
      key: JSON.stringify(['head', contractKey, q.whatToShow, q.useRTH]),
      contractKey: JSON.stringify([contractKey, q.whatToShow]),
      weight: 1,
    };
    return this.heads.run(slot.key, () =>
      this.paced(slot, d, () =>
        this.requests.run<string>({
          operation: 'head_timestamp',
          ...d,
          send: (api, reqId) => api.reqHeadTimestamp(reqId, q.contract as Contract, q.whatToShow as WhatToShow, q.useRTH, 1),
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
    const contractKey = contractIdentity(q.contract);
    const slot: HistoricalSlot = {
      key: JSON.stringify(['ticks', contractKey, q.startDateTime, q.endDateTime, q.numberOfTicks, q.whatToShow, q.useRTH, q.ignoreSize]),
      contractKey: JSON.stringify([contractKey, q.whatToShow]),
      weight: q.whatToShow === 'BID_ASK' ? 2 : 1,
    };
    return this.ticks.run(slot.key, () =>
      this.paced(slot, d, () => {
        const out: HistoricalTick[] = [];
        return this.requests.run<HistoricalTick[]>({
          operation: 'historical_ticks',
          ...d,
          send: (api, reqId) =>
            api.reqHistoricalTicks(reqId, q.contract as Contract, q.startDateTime, q.endDateTime, q.numberOfTicks, q.whatToShow as WhatToShow, q.useRTH, q.ignoreSize),
          onEvent: (name, args, done) => {
            if (name !== EventName.historicalTicks && name !== EventName.historicalTicksBidAsk && name !== EventName.historicalTicksLast) return;
            const [ticks, finished] = args as [Record<string, unknown>[] | undefined, boolean];
            for (const t of ticks ?? []) out.push(toTick(t));
            if (finished) done(out);
          },
          partial: () => ({ ticks: out.length }),
        });
      }),
    );
  }

  /** Books a pacing slot (or 429), waits for it, then runs the request. */
  private async paced<T>(slot: HistoricalSlot, d: Deadline, run: () => Promise<T>): Promise<T> {
    this.requests.assertServing();
    let at: number;
    try {
      at = this.pacing.reserve(slot, d.deadlineAt);
    } catch (err) {
      this.metrics?.pacingRejections.inc({ kind: 'historical' });
      throw err;
    }
    const wait = at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return run();
  }
}

function contractIdentity(c: ContractData): string {
  if (c.conId) return `conId:${c.conId}@${c.exchange ?? ''}`;
  return [c.symbol, c.secType, c.exchange, c.currency, c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier].map((v) => v ?? '').join('|');
}

/** One bar with its time as ISO 8601 and as IB sent it. */
export function toBar(time: string | number, open: number, high: number, low: number, close: number, volume: number, count: number | undefined, WAP: number, zone: string): Bar {
  const ibTime = String(time);
  return { time: ibTimeToIso(ibTime, zone) ?? ibTime, ibTime, open, high, low, close, volume, ...(count !== undefined ? { count } : {}), WAP };
}

function toTick(t: Record<string, unknown>): HistoricalTick {
  const ibTime = Number(t.time);
  const out: HistoricalTick = { time: new Date(ibTime * 1000).toISOString(), ibTime };
  for (const k of ['price', 'size', 'exchange', 'specialConditions', 'priceBid', 'priceAsk', 'sizeBid', 'sizeAsk'] as const) {
    if (t[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = t[k];
  }
  const attributes = (t.tickAttribLast ?? t.tickAttribBidAsk) as Record<string, boolean> | undefined;
  if (attributes !== undefined) out.attributes = { ...attributes };
  return out;
}
