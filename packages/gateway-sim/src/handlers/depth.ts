import { buildBook, DEPTH_EXCHANGES, depthVenue, makersFor, type DepthBook } from '../engine/depth.js';
import type { Quote } from '../engine/market.js';
import { DEPTH_OP, DEPTH_SIDE, marketDepth, marketDepthL2, mktDepthExchanges } from '../encode/feeds.js';
import { readMktDepth } from '../decode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import { MIN_SERVER_VER } from '../wire/server-versions.js';
import type { Field } from '../wire/fields.js';
import type { DepthSub } from '../subscriptions.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

/** Deepest book the simulator serves per side, whatever numRows asks for. */
const MAX_ROWS = 20;

export const depthLimitText = (max: number): string => `Max number (${max}) of market depth requests has been reached`;
const NOT_SUPPORTED = 'Deep market data is not supported for this combination of security type/exchange';

/** One row as MARKET_DEPTH or MARKET_DEPTH_L2, depending on the book's venue. */
function row(
  s: Session,
  sub: DepthSub,
  position: number,
  op: number,
  side: number,
  lvl: { price: number; size: number; marketMaker: string },
): Field[] {
  return sub.l2
    ? marketDepthL2(
        s.serverVersion,
        sub.reqId,
        position,
        lvl.marketMaker,
        op,
        side,
        lvl.price,
        lvl.size,
        sub.isSmartDepth,
      )
    : marketDepth(sub.reqId, position, op, side, lvl.price, lvl.size);
}

function sendBook(s: Session, sub: DepthSub): void {
  sub.book.bids.forEach((l, i) => s.send(row(s, sub, i, DEPTH_OP.insert, DEPTH_SIDE.bid, l)));
  sub.book.asks.forEach((l, i) => s.send(row(s, sub, i, DEPTH_OP.insert, DEPTH_SIDE.ask, l)));
}

/** After a price move: UPDATE rows whose price, size or market maker changed; the book keeps its depth. */
export function depthOnQuote(ctx: SimContext, s: Session, sub: DepthSub, q: Quote): void {
  const next: DepthBook = buildBook(ctx.engine.seed, sub.contract, q, sub.rows, makersOf(sub));
  const diff = (side: number, before: DepthBook['bids'], after: DepthBook['bids']): void => {
    after.forEach((l, i) => {
      const b = before[i];
      if (!b || b.price !== l.price || b.size !== l.size || b.marketMaker !== l.marketMaker)
        s.send(row(s, sub, i, DEPTH_OP.update, side, l));
    });
  };
  diff(DEPTH_SIDE.bid, sub.book.bids, next.bids);
  diff(DEPTH_SIDE.ask, sub.book.asks, next.asks);
  sub.book = next;
}

function makersOf(sub: DepthSub): readonly string[] | undefined {
  const v = depthVenue(sub.exchange, sub.contract.secType, sub.isSmartDepth);
  return v ? makersFor(v) : undefined;
}

function reqMktDepth(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readMktDepth(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const isSmartDepth = s.serverVersion >= MIN_SERVER_VER.SMART_DEPTH && req.isSmartDepth;
  const exchange = (req.contract.exchange ?? '').toUpperCase();
  const venue = depthVenue(exchange, c.secType, isSmartDepth);
  if (!venue) {
    s.sendError(req.reqId, 10092, NOT_SUPPORTED);
    return;
  }
  if (!ctx.depthBooks.tryAcquire(s.id, req.reqId, c.conId, 'depth')) {
    const text = depthLimitText(ctx.depthBooks.max);
    s.sendError(req.reqId, 309, text);
    ctx.violation({ code: 309, clientId: s.clientId, reqId: req.reqId, text });
    return;
  }
  const rows = Math.min(MAX_ROWS, Math.max(1, req.numRows || 5));
  const makers = makersFor(venue);
  const q = ctx.engine.market.quote(c.conId)!;
  const sub: DepthSub = {
    reqId: req.reqId,
    contract: c,
    exchange,
    rows,
    isSmartDepth,
    l2: makers !== undefined,
    book: buildBook(ctx.engine.seed, c, q, rows, makers),
  };
  s.subs.depth.set(req.reqId, sub);
  sendBook(s, sub);
  ctx.priceWatch(c.conId);
}

function cancelMktDepth(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  if (s.serverVersion >= MIN_SERVER_VER.SMART_DEPTH) r.readBool('isSmartDepth');
  // Cancelling an unknown book is accepted silently, as TWS does.
  s.subs.depth.delete(reqId);
  ctx.depthBooks.release(s.id, reqId, 'depth');
}

export const DEPTH_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_MKT_DEPTH, { name: 'REQ_MKT_DEPTH', handle: reqMktDepth }],
  [IN.CANCEL_MKT_DEPTH, { name: 'CANCEL_MKT_DEPTH', handle: cancelMktDepth }],
  [
    IN.REQ_MKT_DEPTH_EXCHANGES,
    {
      name: 'REQ_MKT_DEPTH_EXCHANGES',
      handle: (_ctx, s) => s.send(mktDepthExchanges(s.serverVersion, DEPTH_EXCHANGES)),
    },
  ],
];
