import { fundamentalReport, REPORT_TYPES, type ReportType } from '../engine/fundamentals.js';
import { fundamentalData } from '../encode/feeds.js';
import { readFundamentalData } from '../decode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

const NOT_AVAILABLE = 'The fundamentals data for the security specified is not available.';

/**
 * REQ_FUNDAMENTAL_DATA → one FUNDAMENTAL_DATA with the XML report; 430 for non-stocks (ETFs included) and unknown
 * report types.
 */
function reqFundamentalData(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readFundamentalData(r);
  const found = ctx.engine.catalogue.find(req.contract);
  if (found.length !== 1) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const c = found[0]!;
  const type = REPORT_TYPES.find((t) => t.toLowerCase() === req.reportType.trim().toLowerCase());
  if (!type) {
    s.sendError(req.reqId, 430, `${NOT_AVAILABLE}Not allowed`);
    return;
  }
  if (c.secType !== 'STK' || c.stockType === 'ETF') {
    s.sendError(req.reqId, 430, NOT_AVAILABLE);
    return;
  }
  const price = ctx.engine.market.quote(c.conId)?.last ?? c.basePrice;
  s.send(
    fundamentalData(
      req.reqId,
      fundamentalReport(type as ReportType, ctx.engine.seed, c, price, ctx.engine.clock.now()),
    ),
  );
}

export const FUNDAMENTAL_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_FUNDAMENTAL_DATA, { name: 'REQ_FUNDAMENTAL_DATA', handle: reqFundamentalData }],
  [
    IN.CANCEL_FUNDAMENTAL_DATA,
    {
      name: 'CANCEL_FUNDAMENTAL_DATA',
      handle: (_ctx, _s, r) => {
        r.readInt('version');
        r.readInt('reqId');
      },
    },
  ],
];
