import { barSeconds, durationSeconds, makeBars } from '../engine/bars.js';
import { ibDate, ibDateTime } from '../engine/clock.js';
import { headTimestamp, historicalData } from '../encode/historical.js';
import { readHeadTimestamp, readHistorical } from '../decode/market-data.js';
import { IN } from '../wire/msg-ids.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

const WHAT_TO_SHOW = new Set(['TRADES', 'MIDPOINT', 'BID', 'ASK', 'BID_ASK', 'ADJUSTED_LAST', 'HISTORICAL_VOLATILITY', 'OPTION_IMPLIED_VOLATILITY', 'AGGTRADES']);

/** Parses IB's endDateTime forms ("yyyyMMdd HH:mm:ss[ tz]", "yyyyMMdd-HH:mm:ss" UTC); "" means now. Zones are read as UTC. */
export function parseEndDateTime(s: string, nowMs: number): number | undefined {
  const t = s.trim();
  if (t === '') return nowMs;
  const m = /^(\d{4})(\d{2})(\d{2})(?:[ -](\d{2}):(\d{2}):(\d{2}))?(?:\s+\S+)?$/.exec(t);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 23), Number(m[5] ?? 59), Number(m[6] ?? 59));
}

export function barDate(timeSec: number, formatDate: number, daily: boolean): string {
  if (formatDate === 2) return String(timeSec);
  return daily ? ibDate(timeSec * 1000) : ibDateTime(timeSec * 1000);
}

const validationError = (cause: string): string => `Error validating request:-'bX' : cause - ${cause}`;

function reqHistoricalData(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readHistorical(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const now = ctx.engine.clock.now();
  const secs = barSeconds(req.barSize);
  const dur = durationSeconds(req.duration);
  const end = parseEndDateTime(req.endDateTime, now);
  const what = req.whatToShow.toUpperCase();
  let problem: string | undefined;
  if (secs === undefined) problem = 'Historical data bar size setting is invalid.';
  else if (dur === undefined) problem = 'Historical data duration is invalid.';
  else if (end === undefined) problem = 'Invalid end date/time.';
  else if (!WHAT_TO_SHOW.has(what)) problem = `Invalid whatToShow ${req.whatToShow}.`;
  else if (req.keepUpToDate && req.endDateTime.trim() !== '') problem = 'End date not supported with live updates';
  if (problem) {
    s.sendError(req.reqId, 321, validationError(problem));
    return;
  }
  // IB applies its historical pacing rules to bars of 30 seconds or less; for larger bars they are lifted.
  const pacing = secs! > 30 ? undefined : ctx.pacer.check(
    { conId: c.conId, exchange: req.contract.exchange ?? '', whatToShow: what, endDateTime: req.endDateTime, duration: req.duration, barSize: req.barSize, useRTH: req.useRTH },
    now,
  );
  if (pacing) {
    const text = 'Historical Market Data Service error message:Historical data request pacing violation';
    s.sendError(req.reqId, 162, text);
    ctx.violation({ code: 162, clientId: s.clientId, reqId: req.reqId, text: `${text} (${pacing})` });
    return;
  }
  const daily = secs! >= 86400;
  const bars = makeBars(ctx.engine.seed, c, Math.floor(end! / 1000), dur!, secs!);
  const fmt = (t: number): string => barDate(t, req.formatDate, daily);
  s.send(historicalData(req.reqId, ibDateTime(end! - dur! * 1000), ibDateTime(end!), bars, fmt));
  if (req.keepUpToDate) {
    s.subs.historical.set(req.reqId, { reqId: req.reqId, contract: c, barSeconds: secs!, formatDate: req.formatDate, daily });
    ctx.priceWatch(c.conId);
  }
}

function reqHeadTimestamp(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readHeadTimestamp(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const d = new Date(ctx.engine.clock.now());
  const head = Date.UTC(d.getUTCFullYear() - c.historyYears, 0, 2, 14, 30, 0);
  const ts = req.formatDate === 2 ? String(Math.floor(head / 1000)) : ibDateTime(head).replace(' ', '-');
  s.send(headTimestamp(req.reqId, ts));
}

export const HISTORICAL_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_HISTORICAL_DATA, { name: 'REQ_HISTORICAL_DATA', handle: reqHistoricalData }],
  [IN.CANCEL_HISTORICAL_DATA, {
    name: 'CANCEL_HISTORICAL_DATA',
    handle: (_ctx, s, r) => { r.readInt('version'); s.subs.historical.delete(r.readInt('reqId')); },
  }],
  [IN.REQ_HEAD_TIMESTAMP, { name: 'REQ_HEAD_TIMESTAMP', handle: reqHeadTimestamp }],
  [IN.CANCEL_HEAD_TIMESTAMP, { name: 'CANCEL_HEAD_TIMESTAMP', handle: (_ctx, _s, r) => { r.readInt('reqId'); } }],
];
