import type { Catalogue, ContractDef } from './catalogue.js';
import { Random, roundTo } from './random.js';

/** The current top of book and session statistics for one instrument. */
export interface Quote {
  conId: number;
  bid: number;
  ask: number;
  last: number;
  bidSize: number;
  askSize: number;
  lastSize: number;
  volume: number;
  high: number;
  low: number;
  open: number;
  close: number;
  /** Epoch seconds of the last trade. */
  lastTimestamp: number;
}

export type QuoteListener = (q: Quote) => void;

/** Half the spread in ticks, per secType. */
const HALF_SPREAD_TICKS: Record<ContractDef['secType'], number> = { STK: 1, OPT: 2, FUT: 1, CASH: 1 };

/**
 * Price source: a seeded random walk per instrument, advanced by `step()` (a timer in the server, or a
 * test). `setPrice` moves an instrument at once (control API); every change is published to listeners so
 * resting orders and market-data subscribers see it.
 */
export class Market {
  private readonly quotes = new Map<number, Quote>();
  private readonly listeners = new Set<QuoteListener>();
  private readonly rnd: Random;

  constructor(
    private readonly catalogue: Catalogue,
    seed: number,
    private readonly nowSec: () => number,
  ) {
    this.rnd = new Random(seed ^ 0x5eed);
    for (const c of catalogue.all) {
      const q = this.fresh(c, c.basePrice);
      this.quotes.set(c.conId, q);
    }
  }

  private fresh(c: ContractDef, price: number): Quote {
    const half = HALF_SPREAD_TICKS[c.secType] * c.minTick;
    const last = roundTo(price, c.minTick);
    return {
      conId: c.conId,
      bid: roundTo(last - half, c.minTick),
      ask: roundTo(last + half, c.minTick),
      last,
      bidSize: 300,
      askSize: 200,
      lastSize: 100,
      volume: 1234567,
      high: roundTo(last * 1.012, c.minTick),
      low: roundTo(last * 0.991, c.minTick),
      open: roundTo(last * 0.997, c.minTick),
      close: roundTo(last * 0.995, c.minTick),
      lastTimestamp: this.nowSec(),
    };
  }

  onChange(fn: QuoteListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  quote(conId: number): Quote | undefined {
    return this.quotes.get(conId);
  }

  /** Sets the last price; the spread is rebuilt around it and high/low extended. */
  setPrice(conId: number, price: number, size?: number): Quote {
    const c = this.catalogue.byConId(conId);
    const q = this.quotes.get(conId);
    if (!c || !q) throw new Error(`unknown conId ${conId}`);
    const half = HALF_SPREAD_TICKS[c.secType] * c.minTick;
    q.last = roundTo(price, c.minTick);
    q.bid = roundTo(q.last - half, c.minTick);
    q.ask = roundTo(q.last + half, c.minTick);
    q.lastSize = size ?? q.lastSize;
    q.volume += q.lastSize;
    q.high = Math.max(q.high, q.last);
    q.low = Math.min(q.low, q.last);
    q.lastTimestamp = this.nowSec();
    for (const fn of this.listeners) fn(q);
    return q;
  }

  /** One step of the walk for the given instruments (default: all). Deterministic for a seed. */
  step(conIds?: Iterable<number>): void {
    for (const id of conIds ?? this.quotes.keys()) {
      const c = this.catalogue.byConId(id);
      const q = this.quotes.get(id);
      if (!c || !q) continue;
      const move = this.rnd.gauss() * q.last * 0.0005;
      const next = Math.max(c.minTick, q.last + move);
      const size = 100 * this.rnd.int(1, 5);
      q.bidSize = 100 * this.rnd.int(1, 9);
      q.askSize = 100 * this.rnd.int(1, 9);
      this.setPrice(id, next, size);
    }
  }
}
