import type { HistTick } from '../engine/ticks.js';
import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

/** HISTORICAL_TICKS (MIDPOINT), as IB's EDecoder reads it: reqId, count, (time, 0, price, size)…, done. */
export function historicalTicksMidpoint(reqId: number, ticks: HistTick[], done: boolean): Field[] {
  const f: Field[] = [OUT.HISTORICAL_TICKS, reqId, ticks.length];
  for (const t of ticks) f.push(t.time, 0, Number(((t.bid + t.ask) / 2).toFixed(6)), 0);
  f.push(done);
  return f;
}

/** HISTORICAL_TICKS_BID_ASK: reqId, count, (time, mask, priceBid, priceAsk, sizeBid, sizeAsk)…, done. */
export function historicalTicksBidAsk(reqId: number, ticks: HistTick[], done: boolean): Field[] {
  const f: Field[] = [OUT.HISTORICAL_TICKS_BID_ASK, reqId, ticks.length];
  for (const t of ticks) f.push(t.time, 0, t.bid, t.ask, t.bidSize, t.askSize);
  f.push(done);
  return f;
}

/** HISTORICAL_TICKS_LAST (TRADES): reqId, count, (time, mask, price, size, exchange, specialConditions)…, done. */
export function historicalTicksLast(reqId: number, ticks: HistTick[], done: boolean): Field[] {
  const f: Field[] = [OUT.HISTORICAL_TICKS_LAST, reqId, ticks.length];
  for (const t of ticks) f.push(t.time, 0, t.price, t.size, t.exchange, '');
  f.push(done);
  return f;
}
