import type { ContractDef } from './catalogue.js';
import { inSession, isWeekday, localParts, sessionsOf, tradingDate, tradingDaysBefore } from './calendar.js';
import { Random, roundTo } from './random.js';

export interface Bar {
  /** Epoch seconds of the bar's start. */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  wap: number;
  count: number;
}

/** Bar sizes IB accepts in reqHistoricalData, in seconds. */
const BAR_SIZES: Record<string, number> = {
  '1 secs': 1,
  '5 secs': 5,
  '10 secs': 10,
  '15 secs': 15,
  '30 secs': 30,
  '1 min': 60,
  '2 mins': 120,
  '3 mins': 180,
  '5 mins': 300,
  '10 mins': 600,
  '15 mins': 900,
  '20 mins': 1200,
  '30 mins': 1800,
  '1 hour': 3600,
  '2 hours': 7200,
  '3 hours': 10800,
  '4 hours': 14400,
  '8 hours': 28800,
  '1 day': 86400,
  '1 week': 604800,
  '1 month': 2592000,
};

const DURATION_UNITS: Record<string, number> = { S: 1, D: 86400, W: 604800, M: 2592000, Y: 31536000 };

/** Seconds of one bar, or undefined when IB would reject the bar size. */
export function barSeconds(barSize: string): number | undefined {
  const key = barSize
    .trim()
    .replace(/\s+/g, ' ')
    .toLowerCase()
    .replace(/^1 (sec|min|hour|day|week|month)s$/, '1 $1');
  return BAR_SIZES[key] ?? BAR_SIZES[barSize.trim()];
}

/** Seconds covered by a duration string such as "5 D", or undefined when malformed. */
export function durationSeconds(duration: string): number | undefined {
  const m = /^(\d+)\s+([SDWMY])$/i.exec(duration.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2]!.toUpperCase()]!;
}

/**
 * Deterministic bars: each bar is a pure function of (seed, conId, bar start), so the same request always
 * returns the same data no matter what happened before. Closes are anchored near the instrument's base price.
 */
export function makeBar(seed: number, c: ContractDef, start: number, seconds: number): Bar {
  const r = new Random((seed * 2654435761) ^ c.conId ^ (Math.floor(start / seconds) * 40503));
  const drift = Math.sin(start / 86400 / 17 + c.conId) * 0.04;
  const mid = c.basePrice * (1 + drift + (r.next() - 0.5) * 0.01);
  const span = c.basePrice * 0.004 * Math.sqrt(Math.max(1, seconds / 300));
  const open = roundTo(mid + (r.next() - 0.5) * span, c.minTick);
  const close = roundTo(mid + (r.next() - 0.5) * span, c.minTick);
  const high = roundTo(Math.max(open, close) + r.next() * span * 0.5, c.minTick);
  const low = roundTo(Math.max(c.minTick, Math.min(open, close) - r.next() * span * 0.5), c.minTick);
  const volume = 100 * r.int(10, 5000) * Math.max(1, Math.round(seconds / 300));
  const wap = roundTo((open + close + high + low) / 4, c.minTick / 10);
  return { time: start, open, high, low, close, volume, wap, count: r.int(10, 900) };
}

/** Bars covering `durationSec` up to `endSec` (exclusive), aligned to the bar size; at most 2,000 bars. */
export function makeBars(seed: number, c: ContractDef, endSec: number, durationSec: number, seconds: number): Bar[] {
  const last = Math.floor(endSec / seconds) * seconds;
  const n = Math.min(2000, Math.max(1, Math.floor(durationSec / seconds)));
  const out: Bar[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(makeBar(seed, c, last - i * seconds, seconds));
  return out;
}

/** A bar with the trading date it belongs to (daily bars are dated, not timed). */
export interface DatedBar extends Bar {
  /** "yyyyMMdd" in the exchange's time zone. */
  date: string;
}

/** Bars IB returns at most per request. */
const MAX_BARS = 2000;

/**
 * Bars as IB serves them over its trading calendar: nothing on weekends; intraday bars only inside the
 * session (regular trading hours with `useRTH`, extended hours without); a duration in seconds (S) counts
 * trading time and one in days (D) trading days; weeks, months and years count calendar time. Daily bars
 * are one per trading day, dated in the exchange's time zone; weekly and monthly bars keep their calendar
 * alignment. At most 2,000 bars, the newest kept.
 */
export function sessionBars(
  seed: number,
  c: ContractDef,
  endSec: number,
  duration: string,
  seconds: number,
  useRTH: boolean,
): DatedBar[] {
  const s = sessionsOf(c);
  const m = /^(\d+)\s+([SDWMY])$/i.exec(duration.trim());
  const count = Number(m?.[1] ?? 1);
  const unit = (m?.[2] ?? 'D').toUpperCase();
  const endMs = endSec * 1000;
  const startMs =
    unit === 'D' ? tradingDaysBefore(endMs, count, s) : endMs - (durationSeconds(duration) ?? 86_400) * 1000;
  const out: DatedBar[] = [];
  if (seconds === 86_400) {
    // One bar per trading day back from the end's own day (if a trading day): `count` of them for a duration
    // in days, else those after the start.
    const days = unit === 'D' ? Math.min(count, MAX_BARS) : MAX_BARS;
    for (let t = endMs; (unit === 'D' || t > startMs) && out.length < days; t -= 86_400_000) {
      const p = localParts(t, s.timeZone);
      if (!isWeekday(p.weekday)) continue;
      const dayStart = Math.floor(t / 86_400_000) * 86_400;
      out.push({ ...makeBar(seed, c, dayStart, seconds), date: tradingDate(t, s) });
    }
    return out.reverse();
  }
  if (seconds > 86_400) {
    const span = Math.max(seconds, (endMs - startMs) / 1000);
    return makeBars(seed, c, endSec, span, seconds).map((b) => ({ ...b, date: tradingDate(b.time * 1000, s) }));
  }
  const last = Math.floor(endSec / seconds) * seconds;
  // A duration in seconds counts trading time: that many seconds of session bars, however long ago they were.
  const wanted = unit === 'S' ? Math.max(1, Math.floor(count / seconds)) : MAX_BARS;
  const earliest = unit === 'S' ? endMs - 7 * 86_400_000 : startMs;
  // A bar is in the session when its start is; stepping stops at the start or after 2,000 bars.
  for (let t = last; t * 1000 >= earliest && out.length < Math.min(wanted, MAX_BARS); t -= seconds) {
    if (t * 1000 >= endMs) continue;
    const ms = t * 1000;
    if (!inSession(ms, s, useRTH)) continue;
    out.push({ ...makeBar(seed, c, t, seconds), date: tradingDate(ms, s) });
  }
  return out.reverse();
}
