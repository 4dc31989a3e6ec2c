import { EventName, type BarSizeSetting, type Contract, type WhatToShow } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { HistoricalPacer, HistoricalSlot } from './historical-pacing.js';
import type { Requests } from './requests.js';

export interface BarQuery {
  contract: ContractData;
  /** "yyyyMMdd HH:mm:ss[ TZ]" or "" for now. */
  endDateTime: string;
  durationStr: string;
  barSizeSetting: string;
  whatToShow: string;
  useRTH: boolean;
}

export interface Bar {
  time: string;
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

  constructor(
    private readonly requests: Requests,
    private readonly pacing: HistoricalPacer,
    cacheMs: number,
    private readonly metrics?: WorkerMetrics,
  ) {
    this.bars = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'historical' }));
    this.heads = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'head_timestamp' }));
  }

  getBars(q: BarQuery, d: Deadline): Promise<Bar[]> {
    const contractKey = contractIdentity(q.contract);
    const slot: HistoricalSlot = {
      key: JSON.stringify(['bars', contractKey, q.endDateTime, q.durationStr, q.barSizeSetting, q.whatToShow, q.useRTH]),
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
            api.reqHistoricalData(reqId, q.contract as Contract, q.endDateTime, q.durationStr, q.barSizeSetting as BarSizeSetting, q.whatToShow as WhatToShow, q.useRTH ? 1 : 0, 1, false),
          cancel: (api, reqId) => api.cancelHistoricalData(reqId),
          onEvent: (name, args, done) => {
            if (name !== EventName.historicalData) return;
            const [time, open, high, low, close, volume, count, WAP] = args as [string, number, number, number, number, number, number | undefined, number];
            // @stoqey/ib marks the end with a pseudo-bar whose time starts with "finished".
            if (typeof time === 'string' && time.startsWith('finished')) done(out);
            else out.push({ time, open, high, low, close, volume, count, WAP });
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
