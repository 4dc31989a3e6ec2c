import { barSeconds, durationSeconds, sessionBars } from '../engine/bars.js';
import { ibDate, ibDateTime } from '../engine/clock.js';
import { headTimestamp, historicalData } from '../encode/historical.js';
import { readHeadTimestamp, readHistorical } from '../decode/market-data.js';
import { IN } from '../wire/msg-ids.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';
import { simultaneousHistoricalText } from '../limits/historical-pacing.js';
import { readContract } from '../decode/contract.js';
import { historicalTicks } from '../engine/ticks.js';
import { historicalTicksBidAsk, historicalTicksLast, historicalTicksMidpoint } from '../encode/historical-ticks.js';

const NO_DATA = 'Historical Market Data Service error message:HMDS query returned no data';

/**
 * REQ_HISTORICAL_TICKS: reqId, contract, includeExpired, startDateTime, endDateTime, numberOfTicks,
 * whatToShow (TRADES, BID_ASK, MIDPOINT), useRth, ignoreSize, miscOptions. Exactly one of start and end.
 */
function reqHistoricalTicks(ctx: SimContext, s: Session, r: FieldReader): void {
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  r.readBool('includeExpired');
  const start = r.readStr('startDateTime');
  const endStr = r.readStr('endDateTime');
  const count = r.readInt('numberOfTicks');
  const what = r.readStr('whatToShow').toUpperCase();
  const useRth = r.readBool('useRth');
  r.skipRest();
  if (refuseOverOpenLimit(ctx, s, reqId)) return;
  const found = ctx.engine.catalogue.find(contract);
  if (found.length !== 1) {
    s.sendError(reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const now = ctx.engine.clock.now();
  let problem: string | undefined;
  if ((start.trim() === '') === (endStr.trim() === '')) {
    problem = 'Exactly one of start and end date/time must be specified.';
  } else if (!['TRADES', 'BID_ASK', 'MIDPOINT'].includes(what)) problem = `Invalid whatToShow ${what}.`;
  else if (!(count > 0)) problem = 'Number of ticks must be positive.';
  const from = start.trim() !== '' ? parseEndDateTime(start, now) : undefined;
  const to = endStr.trim() !== '' ? parseEndDateTime(endStr, now) : undefined;
  if (!problem && from === undefined && to === undefined) problem = 'Invalid start/end date/time.';
  if (problem) {
    s.sendError(reqId, 321, validationError(problem));
    return;
  }
  const c = found[0]!;
  const ticks = historicalTicks(
    ctx.engine.seed,
    c,
    from !== undefined ? { startSec: Math.floor(from / 1000) } : { endSec: Math.floor(to! / 1000) },
    count,
    useRth,
    Math.floor(now / 1000),
  );
  if (ticks.length === 0) {
    s.sendError(reqId, 162, NO_DATA);
    return;
  }
  if (what === 'TRADES') s.send(historicalTicksLast(reqId, ticks, true));
  else if (what === 'BID_ASK') s.send(historicalTicksBidAsk(reqId, ticks, true));
  else s.send(historicalTicksMidpoint(reqId, ticks, true));
}

const WHAT_TO_SHOW = new Set([
  'TRADES',
  'MIDPOINT',
  'BID',
  'ASK',
  'BID_ASK',
  'ADJUSTED_LAST',
  'HISTORICAL_VOLATILITY',
  'OPTION_IMPLIED_VOLATILITY',
  'AGGTRADES',
]);

/**
 * Parses IB's endDateTime forms ("yyyyMMdd HH:mm:ss[ tz]", "yyyyMMdd-HH:mm:ss" UTC); "" means now. Zones are read as
 * UTC.
 */
export function parseEndDateTime(s: string, nowMs: number): number | undefined {
  const t = s.trim();
  if (t === '') return nowMs;
  const m = /^(\d{4})(\d{2})(\d{2})(?:[ -](\d{2}):(\d{2}):(\d{2}))?(?:\s+\S+)?$/.exec(t);
  if (!m) return undefined;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 23),
    Number(m[5] ?? 59),
    Number(m[6] ?? 59),
  );
}

export function barDate(timeSec: number, formatDate: number, daily: boolean): string {
  if (formatDate === 2) return String(timeSec);
  return daily ? ibDate(timeSec * 1000) : ibDateTime(timeSec * 1000);
}

const validationError = (cause: string): string => `Error validating request:-'bX' : cause - ${cause}`;

/**
 * IB's limit of simultaneous open historical requests (every client of the session together): the simulator
 * answers one-shot requests at once, so what stays open are the keepUpToDate requests. Refuses with 322 and
 * returns true when the session is at the limit.
 */
function refuseOverOpenLimit(ctx: SimContext, s: Session, reqId: number): boolean {
  const max = ctx.pacer.limits.simultaneousMax;
  const open = ctx.readySessions().reduce((n, x) => n + x.subs.historical.size, 0);
  if (open < max) return false;
  const text = simultaneousHistoricalText(max);
  s.sendError(reqId, 322, text);
  ctx.violation({ code: 322, clientId: s.clientId, reqId, text });
  return true;
}

function reqHistoricalData(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readHistorical(r);
  if (refuseOverOpenLimit(ctx, s, req.reqId)) return;
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
  const pacing =
    secs! > 30
      ? undefined
      : ctx.pacer.check(
          {
            conId: c.conId,
            exchange: req.contract.exchange ?? '',
            whatToShow: what,
            endDateTime: req.endDateTime,
            duration: req.duration,
            barSize: req.barSize,
            useRTH: req.useRTH,
          },
          now,
        );
  if (pacing) {
    const text = 'Historical Market Data Service error message:Historical data request pacing violation';
    s.sendError(req.reqId, 162, text);
    ctx.violation({ code: 162, clientId: s.clientId, reqId: req.reqId, text: `${text} (${pacing})` });
    return;
  }
  const daily = secs! >= 86400;
  const bars = sessionBars(ctx.engine.seed, c, Math.floor(end! / 1000), req.duration, secs!, req.useRTH);
  if (bars.length === 0) {
    s.sendError(req.reqId, 162, NO_DATA);
    return;
  }
  const dates = new Map(bars.map((b) => [b.time, b.date]));
  // Daily bars are dated with the exchange's trading date (yyyyMMdd), as IB dates them.
  const fmt = (t: number): string =>
    daily && req.formatDate !== 2 ? (dates.get(t) ?? barDate(t, 1, true)) : barDate(t, req.formatDate, daily);
  s.send(historicalData(req.reqId, ibDateTime(end! - dur! * 1000), ibDateTime(end!), bars, fmt));
  if (req.keepUpToDate) {
    s.subs.historical.set(req.reqId, {
      reqId: req.reqId,
      contract: c,
      barSeconds: secs!,
      formatDate: req.formatDate,
      daily,
    });
    ctx.priceWatch(c.conId);
  }
}

function reqHeadTimestamp(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readHeadTimestamp(r);
  if (refuseOverOpenLimit(ctx, s, req.reqId)) return;
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
  [
    IN.CANCEL_HISTORICAL_DATA,
    {
      name: 'CANCEL_HISTORICAL_DATA',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.historical.delete(r.readInt('reqId'));
      },
    },
  ],
  [IN.REQ_HEAD_TIMESTAMP, { name: 'REQ_HEAD_TIMESTAMP', handle: reqHeadTimestamp }],
  [IN.REQ_HISTORICAL_TICKS, { name: 'REQ_HISTORICAL_TICKS', handle: reqHistoricalTicks }],
  [
    IN.CANCEL_HEAD_TIMESTAMP,
    {
      name: 'CANCEL_HEAD_TIMESTAMP',
      handle: (_ctx, _s, r) => {
        r.readInt('reqId');
      },
    },
  ],
];
