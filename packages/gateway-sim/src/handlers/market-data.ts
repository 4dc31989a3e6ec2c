import type { ContractDef } from '../engine/catalogue.js';
import type { Quote } from '../engine/market.js';
import {
  marketDataType,
  tickGeneric,
  tickPrice,
  tickReqParams,
  tickSize,
  tickSnapshotEnd,
  tickString,
} from '../encode/market-data.js';
import { readMktData } from '../decode/market-data.js';
import { IN } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

/** Tick type ids (IB's TickType): live, and the delayed equivalents used for data types 3 and 4. */
const LIVE = {
  bidSize: 0,
  bid: 1,
  ask: 2,
  askSize: 3,
  last: 4,
  lastSize: 5,
  high: 6,
  low: 7,
  volume: 8,
  close: 9,
  open: 14,
  lastTimestamp: 45,
};
const DELAYED = {
  bidSize: 69,
  bid: 66,
  ask: 67,
  askSize: 70,
  last: 68,
  lastSize: 71,
  high: 72,
  low: 73,
  volume: 74,
  close: 75,
  open: 76,
  lastTimestamp: 88,
};
const RT_VOLUME = 48;
const SHORTABLE = 46;

const typesFor = (dataType: number): typeof LIVE => (dataType >= 3 ? DELAYED : LIVE);

/**
 * The top-of-book ticks for one request. Each size also goes out as an explicit TICK_SIZE after the TICK_PRICE
 * that carries it, as TWS sends them (a client hears each size twice: derived, then explicit).
 */
export function quoteTicks(reqId: number, q: Quote, dataType: number, full: boolean): Field[][] {
  const t = typesFor(dataType);
  const out: Field[][] = [
    tickPrice(reqId, t.bid, q.bid, q.bidSize, 1),
    tickSize(reqId, t.bidSize, q.bidSize),
    tickPrice(reqId, t.ask, q.ask, q.askSize, 1),
    tickSize(reqId, t.askSize, q.askSize),
    tickPrice(reqId, t.last, q.last, q.lastSize, 0),
    tickSize(reqId, t.lastSize, q.lastSize),
    tickSize(reqId, t.volume, q.volume),
  ];
  if (full) {
    out.push(
      tickPrice(reqId, t.high, q.high, '', 0),
      tickPrice(reqId, t.low, q.low, '', 0),
      tickPrice(reqId, t.close, q.close, '', 0),
      tickPrice(reqId, t.open, q.open, '', 0),
    );
  }
  out.push(tickString(reqId, t.lastTimestamp, String(q.lastTimestamp)));
  return out;
}

/** Ticks for the generic tick list: 233 RT volume, 236 shortable; others are accepted and ignored. */
function genericTicks(reqId: number, list: string, q: Quote): Field[][] {
  const ids = new Set(
    list
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  const out: Field[][] = [];
  if (ids.has('233'))
    out.push(
      tickString(reqId, RT_VOLUME, `${q.last};${q.lastSize};${q.lastTimestamp * 1000};${q.volume};${q.last};false`),
    );
  if (ids.has('236')) out.push(tickGeneric(reqId, SHORTABLE, 3));
  return out;
}

function sendInitial(s: Session, reqId: number, c: ContractDef, q: Quote, dataType: number, generic: string): void {
  s.send(tickReqParams(reqId, c.minTick, '9c0001', 3));
  if (dataType !== 1) s.send(marketDataType(reqId, dataType));
  for (const f of quoteTicks(reqId, q, dataType, true)) s.send(f);
  for (const f of genericTicks(reqId, generic, q)) s.send(f);
}

function reqMktData(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readMktData(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const q = ctx.engine.market.quote(c.conId)!;
  const dataType = s.subs.marketDataType;
  if (req.snapshot || req.regulatorySnapshot) {
    sendInitial(s, req.reqId, c, q, dataType, req.genericTicks);
    s.send(tickSnapshotEnd(req.reqId));
    return;
  }
  if (!ctx.mdLines.tryAcquire(s.id, req.reqId, c.conId)) {
    const text = 'Max number of tickers has been reached';
    s.sendError(req.reqId, 101, text);
    ctx.violation({ code: 101, clientId: s.clientId, reqId: req.reqId, text });
    return;
  }
  s.subs.mktData.set(req.reqId, { reqId: req.reqId, contract: c, dataType, genericTicks: req.genericTicks });
  sendInitial(s, req.reqId, c, q, dataType, req.genericTicks);
  ctx.priceWatch(c.conId);
}

function cancelMktData(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  // Cancelling an unknown or finished (snapshot) request is silently accepted.
  s.subs.mktData.delete(reqId);
  ctx.mdLines.release(s.id, reqId);
}

export const MARKET_DATA_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_MKT_DATA, { name: 'REQ_MKT_DATA', handle: reqMktData }],
  [IN.CANCEL_MKT_DATA, { name: 'CANCEL_MKT_DATA', handle: cancelMktData }],
  [
    IN.REQ_MARKET_DATA_TYPE,
    {
      name: 'REQ_MARKET_DATA_TYPE',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        const t = r.readInt('marketDataType');
        if (t >= 1 && t <= 4) s.subs.marketDataType = t;
      },
    },
  ],
];
