import { INSTRUMENTS, LOCATIONS, runScan, SCAN_TYPES, scannerParametersXml } from '../engine/scanner.js';
import { scannerData, scannerParameters, type ScannerRow } from '../encode/feeds.js';
import { readScannerSubscription } from '../decode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import type { ScannerSub } from '../subscriptions.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';

/** Most rows one scan returns (IB's maximum). */
const MAX_ROWS = 50;

const validationError = (cause: string): string => `Error validating request:-'bn' : cause - ${cause}`;

/** Runs one subscription's scan and sends the result (SCANNER_DATA; the client derives the end). */
function sendScan(ctx: SimContext, s: Session, sub: ScannerSub): void {
  const ranked = runScan(ctx.engine.catalogue, ctx.engine.market, {
    scanCode: sub.scanCode,
    locationCode: sub.locationCode,
    rows: sub.rows,
    abovePrice: sub.abovePrice,
    belowPrice: sub.belowPrice,
    aboveVolume: sub.aboveVolume,
  });
  const rows: ScannerRow[] = ranked.map((c, rank) => ({
    rank,
    conId: c.conId,
    symbol: c.symbol,
    secType: c.secType,
    lastTradeDate: c.lastTradeDate,
    strike: c.strike,
    right: c.right,
    exchange: 'SMART',
    currency: c.currency,
    localSymbol: c.localSymbol,
    marketName: c.tradingClass,
    tradingClass: c.tradingClass,
    distance: '',
    benchmark: '',
    projection: '',
    legs: '',
  }));
  s.send(scannerData(sub.reqId, rows));
}

/** Re-sends every live scanner's current result, as TWS refreshes open scans. */
export function refreshScanners(ctx: SimContext): void {
  if (ctx.isLinkDown()) return;
  for (const s of ctx.readySessions()) for (const sub of s.subs.scanners.values()) sendScan(ctx, s, sub);
}

function reqScannerSubscription(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readScannerSubscription(r);
  const code = req.scanCode.toUpperCase();
  let problem: string | undefined;
  if (!INSTRUMENTS.includes(req.instrument.toUpperCase() as 'STK')) problem = `Invalid instrument ${req.instrument}`;
  else if (!LOCATIONS.some((l) => l.code === req.locationCode.toUpperCase()))
    problem = `Invalid location code ${req.locationCode}`;
  else if (!SCAN_TYPES.some((t) => t.code === code)) problem = `Invalid scan code ${req.scanCode}`;
  if (problem) {
    s.sendError(req.reqId, 321, validationError(problem));
    return;
  }
  const rows =
    req.numberOfRows === undefined || req.numberOfRows <= 0 ? MAX_ROWS : Math.min(MAX_ROWS, req.numberOfRows);
  const sub: ScannerSub = {
    reqId: req.reqId,
    scanCode: code,
    instrument: req.instrument.toUpperCase(),
    locationCode: req.locationCode.toUpperCase(),
    rows,
    abovePrice: req.abovePrice,
    belowPrice: req.belowPrice,
    aboveVolume: req.aboveVolume,
  };
  s.subs.scanners.set(req.reqId, sub);
  sendScan(ctx, s, sub);
}

export const SCANNER_HANDLERS: Array<[number, HandlerEntry]> = [
  [
    IN.REQ_SCANNER_PARAMETERS,
    {
      name: 'REQ_SCANNER_PARAMETERS',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.send(scannerParameters(scannerParametersXml()));
      },
    },
  ],
  [IN.REQ_SCANNER_SUBSCRIPTION, { name: 'REQ_SCANNER_SUBSCRIPTION', handle: reqScannerSubscription }],
  [
    IN.CANCEL_SCANNER_SUBSCRIPTION,
    {
      name: 'CANCEL_SCANNER_SUBSCRIPTION',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.scanners.delete(r.readInt('reqId'));
      },
    },
  ],
];
