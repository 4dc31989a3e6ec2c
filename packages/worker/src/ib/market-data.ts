import { EventName, type Contract } from '@stoqey/ib';
import tickTypeModule from '@stoqey/ib/dist/api/market/tickType.js';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { MarketDataLines } from './market-data-lines.js';
import type { Requests } from './requests.js';

const TICK_NAMES = (tickTypeModule as unknown as { TickType: Record<number, string> }).TickType;

export interface Snapshot {
  /** Ticks by @stoqey/ib TickType name (BID, ASK, LAST, BID_SIZE, …). */
  ticks: Record<string, number | string>;
  /** The same ticks by IB's numeric tick type. */
  raw: Record<string, number | string>;
  receivedAt: string;
}

/**
 * Market-data snapshots (reqMktData snapshot=true). Identical snapshots in flight share one IB request;
 * each pending snapshot holds a market-data line.
 */
export class MarketDataService {
  private readonly snapshots = new Coalescer<Snapshot>(0, () => this.metrics?.coalesced.inc({ kind: 'snapshot' }));

  constructor(
    private readonly requests: Requests,
    private readonly lines: MarketDataLines,
    private readonly metrics?: WorkerMetrics,
  ) {}

  snapshot(contract: ContractData, genericTickList: string, d: Deadline): Promise<Snapshot> {
    const key = JSON.stringify([Object.entries(contract).sort(([a], [b]) => a.localeCompare(b)), genericTickList]);
    return this.snapshots.run(key, async () => {
      this.requests.assertServing();
      const release = this.lines.acquire(1);
      const ticks: Record<string, number | string> = {};
      const raw: Record<string, number | string> = {};
      try {
        return await this.requests.run<Snapshot>({
          operation: 'snapshot',
          ...d,
          send: (api, reqId) => api.reqMktData(reqId, contract as Contract, genericTickList, true, false),
          cancel: (api, reqId) => api.cancelMktData(reqId),
          onEvent: (name, args, done) => {
            if (name === EventName.tickSnapshotEnd) {
              done({ ticks, raw, receivedAt: new Date().toISOString() });
              return;
            }
            if (
              name !== EventName.tickPrice &&
              name !== EventName.tickSize &&
              name !== EventName.tickGeneric &&
              name !== EventName.tickString
            )
              return;
            const [field, value] = args as [number | undefined, number | string | undefined];
            if (field === undefined || value === undefined) return;
            raw[String(field)] = value;
            ticks[TICK_NAMES[field] ?? String(field)] = value;
          },
          partial: () => ({ ticks }),
        });
      } finally {
        release();
      }
    });
  }
}
