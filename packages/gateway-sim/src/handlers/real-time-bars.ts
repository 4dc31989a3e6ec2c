import type { Quote } from '../engine/market.js';
import { roundTo } from '../engine/random.js';
import { realTimeBar } from '../encode/feeds.js';
import { readRealTimeBars } from '../decode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import type { RealTimeBarSub } from '../subscriptions.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

/** IB serves 5-second bars only. */
const BAR_SECONDS = 5;
const WHAT_TO_SHOW = new Set(['TRADES', 'MIDPOINT', 'BID', 'ASK']);

function priceOf(sub: RealTimeBarSub, q: Quote): number {
  switch (sub.whatToShow) {
    case 'TRADES':
      return q.last;
    case 'BID':
      return q.bid;
    case 'ASK':
      return q.ask;
    case 'MIDPOINT':
      return roundTo((q.bid + q.ask) / 2, sub.contract.minTick / 2);
  }
}

/** A quote moved: fold it into the forming bar (trade bars also count the trade's size). */
export function realTimeBarOnQuote(sub: RealTimeBarSub, q: Quote): void {
  const p = priceOf(sub, q);
  const b = sub.bar;
  const size = sub.whatToShow === 'TRADES' ? q.lastSize : 0;
  if (!b) {
    sub.bar = { open: p, high: p, low: p, close: p, volume: size, wapSum: p * size, count: size > 0 ? 1 : 0 };
    return;
  }
  b.high = Math.max(b.high, p);
  b.low = Math.min(b.low, p);
  b.close = p;
  b.volume += size;
  b.wapSum += p * size;
  if (size > 0) b.count += 1;
}

/**
 * Closes the forming bar of every subscription and sends it. A bar without price moves is flat at the
 * current price; trade bars carry volume, WAP and trade count, quote bars (BID, ASK, MIDPOINT) −1 there,
 * as IB sends them. Bar times advance by 5 s per bar, aligned to the clock.
 */
export function emitRealTimeBars(ctx: SimContext): void {
  const aligned = Math.floor(ctx.engine.clock.now() / 1000 / BAR_SECONDS) * BAR_SECONDS - BAR_SECONDS;
  for (const s of ctx.readySessions()) {
    for (const sub of s.subs.realTimeBars.values()) {
      const time = Math.max(aligned, sub.lastTime + BAR_SECONDS);
      sub.lastTime = time;
      const q = ctx.engine.market.quote(sub.contract.conId)!;
      const now = priceOf(sub, q);
      const b = sub.bar ?? { open: now, high: now, low: now, close: now, volume: 0, wapSum: 0, count: 0 };
      sub.bar = undefined;
      if (sub.whatToShow === 'TRADES') {
        const wap = b.volume > 0 ? roundTo(b.wapSum / b.volume, sub.contract.minTick / 10) : b.close;
        s.send(realTimeBar(sub.reqId, time, b.open, b.high, b.low, b.close, b.volume, wap, b.count));
      } else {
        s.send(realTimeBar(sub.reqId, time, b.open, b.high, b.low, b.close, -1, -1, -1));
      }
      // The next bar opens where this one closed.
      sub.bar = { open: b.close, high: b.close, low: b.close, close: b.close, volume: 0, wapSum: 0, count: 0 };
    }
  }
}

const validationError = (cause: string): string => `Error validating request:-'bY' : cause - ${cause}`;

function reqRealTimeBars(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readRealTimeBars(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const what = req.whatToShow.toUpperCase();
  if (!WHAT_TO_SHOW.has(what)) {
    s.sendError(req.reqId, 321, validationError(`Invalid whatToShow ${req.whatToShow} for real time bars.`));
    return;
  }
  if (req.barSize !== BAR_SECONDS) {
    s.sendError(
      req.reqId,
      321,
      validationError(`Invalid bar size ${req.barSize}: only 5 second real time bars are supported.`),
    );
    return;
  }
  // A real-time bar subscription takes a market-data line, like a streaming quote.
  if (!ctx.mdLines.tryAcquire(s.id, req.reqId, c.conId, 'rtb')) {
    const text = 'Max number of tickers has been reached';
    s.sendError(req.reqId, 101, text);
    ctx.violation({ code: 101, clientId: s.clientId, reqId: req.reqId, text });
    return;
  }
  s.subs.realTimeBars.set(req.reqId, {
    reqId: req.reqId,
    contract: c,
    whatToShow: what as RealTimeBarSub['whatToShow'],
    lastTime: 0,
  });
  ctx.priceWatch(c.conId);
}

export const REAL_TIME_BAR_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_REAL_TIME_BARS, { name: 'REQ_REAL_TIME_BARS', handle: reqRealTimeBars }],
  [
    IN.CANCEL_REAL_TIME_BARS,
    {
      name: 'CANCEL_REAL_TIME_BARS',
      handle: (ctx, s, r) => {
        r.readInt('version');
        const reqId = r.readInt('reqId');
        s.subs.realTimeBars.delete(reqId);
        ctx.mdLines.release(s.id, reqId, 'rtb');
      },
    },
  ],
];
