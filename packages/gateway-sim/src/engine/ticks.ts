import { makeBar } from './bars.js';
import { inSession, sessionsOf } from './calendar.js';
import type { ContractDef } from './catalogue.js';
import { Random, roundTo } from './random.js';

/** One historical tick: a trade (TRADES), a quote (BID_ASK) or a midpoint (MIDPOINT). */
export interface HistTick {
  /** Epoch seconds. */
  time: number;
  price: number;
  size: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  exchange: string;
}

/** Ticks IB returns at most per request. */
export const MAX_HISTORICAL_TICKS = 1000;

/** Whether second `t` of a contract saw a tick (about one second in three), deterministic per seed. */
function tickAt(seed: number, c: ContractDef, t: number): Random | undefined {
  const r = new Random((seed * 2246822519) ^ c.conId ^ Math.imul(t, 3266489917));
  return r.next() < 0.35 ? r : undefined;
}

function tick(seed: number, c: ContractDef, t: number, r: Random): HistTick {
  const minute = Math.floor(t / 60) * 60;
  const bar = makeBar(seed, c, minute, 60);
  const f = (t - minute) / 60;
  const price = roundTo(
    Math.min(bar.high, Math.max(bar.low, bar.open + (bar.close - bar.open) * f + (r.next() - 0.5) * c.minTick * 4)),
    c.minTick,
  );
  const spread = c.minTick * r.int(1, 3);
  const bid = roundTo(price - spread / 2 - (r.next() < 0.5 ? 0 : c.minTick / 2), c.minTick);
  const ask = roundTo(Math.max(bid + c.minTick, price + spread / 2), c.minTick);
  return {
    time: t,
    price,
    size: 100 * r.int(1, 20),
    bid,
    ask,
    bidSize: 100 * r.int(1, 30),
    askSize: 100 * r.int(1, 30),
    exchange: ['NASDAQ', 'ARCA', 'NYSE', 'BATS', 'IEX'][r.int(0, 4)]!,
  };
}

/**
 * Historical ticks as reqHistoricalTicks answers them: from `startSec` forwards or back from `endSec`
 * (exactly one is given), at most `count` (≤ 1,000), inside the session (regular hours with `useRTH`),
 * never on weekends, oldest first. Each second's tick is a pure function of (seed, conId, second).
 */
export function historicalTicks(
  seed: number,
  c: ContractDef,
  from: { startSec?: number; endSec?: number },
  count: number,
  useRTH: boolean,
  nowSec: number,
): HistTick[] {
  const s = sessionsOf(c);
  const n = Math.max(1, Math.min(MAX_HISTORICAL_TICKS, count));
  const out: HistTick[] = [];
  // At most a week of seconds is searched (a long weekend and closed nights included).
  const limit = 7 * 86_400;
  if (from.startSec !== undefined) {
    for (let t = from.startSec, i = 0; out.length < n && i < limit && t <= nowSec; t++, i++) {
      const r = tickAt(seed, c, t);
      if (r !== undefined && inSession(t * 1000, s, useRTH)) out.push(tick(seed, c, t, r));
    }
    return out;
  }
  const end = Math.min(from.endSec ?? nowSec, nowSec);
  for (let t = end, i = 0; out.length < n && i < limit; t--, i++) {
    const r = tickAt(seed, c, t);
    if (r !== undefined && inSession(t * 1000, s, useRTH)) out.push(tick(seed, c, t, r));
  }
  return out.reverse();
}
