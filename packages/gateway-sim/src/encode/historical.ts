import type { Bar } from '../engine/bars.js';
import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

/** HISTORICAL_DATA without version and hasGaps (≥ SYNT_REALTIME_BARS). */
export function historicalData(
  reqId: number,
  start: string,
  end: string,
  bars: Bar[],
  fmt: (t: number) => string,
): Field[] {
  const f: Field[] = [OUT.HISTORICAL_DATA, reqId, start, end, bars.length];
  for (const b of bars) f.push(fmt(b.time), b.open, b.high, b.low, b.close, b.volume, b.wap, b.count);
  return f;
}

/** HISTORICAL_DATA_UPDATE: note IB's order open, close, high, low, wap, volume. */
export const historicalDataUpdate = (reqId: number, b: Bar, date: string): Field[] => [
  OUT.HISTORICAL_DATA_UPDATE,
  reqId,
  b.count,
  date,
  b.open,
  b.close,
  b.high,
  b.low,
  b.wap,
  b.volume,
];

export const headTimestamp = (reqId: number, ts: string): Field[] => [OUT.HEAD_TIMESTAMP, reqId, ts];
