import { historicalRequest } from '@ibrest/contract';
import { EventName, type BarSizeSetting, type Contract, type WhatToShow } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
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
 * Historical bars and head timestamps: identical requests (by the request identity of @ibrest/contract,
 * the same one the proxy pins and paces on) share one IB request, and its answer for the cache period.
 * IB's historical pacing rules span every connection of the account, so they are applied pool-wide by
 * the proxy, which sees all traffic; a worker alone only shares and caches.
 */
export class HistoricalService {
  private readonly bars: Coalescer<Bar[]>;
  private readonly heads: Coalescer<string>;

  constructor(
    private readonly requests: Requests,
    cacheMs: number,
    private readonly metrics?: WorkerMetrics,
  ) {
    this.bars = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'historical' }));
    this.heads = new Coalescer(cacheMs, () => metrics?.coalesced.inc({ kind: 'head_timestamp' }));
  }

  getBars(q: BarQuery, d: Deadline): Promise<Bar[]> {
    const { contract, ...rest } = q;
    const key = historicalRequest('bars', { ...contract, ...rest }).identity;
    return this.bars.run(key, () =>
      this.serving(() => {
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
    const { contract, ...rest } = q;
    const key = historicalRequest('head', { ...contract, ...rest }).identity;
    return this.heads.run(key, () =>
      this.serving(() =>
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

  private async serving<T>(run: () => Promise<T>): Promise<T> {
    this.requests.assertServing();
    return run();
  }
}
