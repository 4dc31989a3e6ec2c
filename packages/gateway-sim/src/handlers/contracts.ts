import {
  contractData,
  contractDataEnd,
  secDefOptParams,
  secDefOptParamsEnd,
  symbolSamples,
} from '../encode/contracts.js';
import { readContract } from '../decode/contract.js';
import { IN } from '../wire/msg-ids.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';

export const NO_SECURITY_DEFINITION = 'No security definition has been found for the request';

/** REQ_CONTRACT_DATA at message version 8: every matching contract, then the end marker; 200 if none. */
function reqContractDetails(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const q = readContract(r);
  r.readBool('includeExpired');
  r.readStr('secIdType');
  r.readStr('secId');
  if (s.serverVersion >= V.BOND_ISSUERID) r.readStr('issuerId');
  const found = ctx.engine.catalogue.find(q);
  if (found.length === 0) {
    s.sendError(reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  for (const c of found) s.send(contractData(s.serverVersion, reqId, c));
  s.send(contractDataEnd(reqId));
}

function reqMatchingSymbols(ctx: SimContext, s: Session, r: FieldReader): void {
  const reqId = r.readInt('reqId');
  const pattern = r.readStr('pattern');
  s.send(symbolSamples(s.serverVersion, reqId, ctx.engine.catalogue.search(pattern).slice(0, 16)));
}

/** REQ_SEC_DEF_OPT_PARAMS: one row per exchange for the underlying's option chain, then the end marker. */
function reqSecDefOptParams(ctx: SimContext, s: Session, r: FieldReader): void {
  const reqId = r.readInt('reqId');
  const symbol = r.readStr('underlyingSymbol');
  r.readStr('futFopExchange');
  const secType = r.readStr('underlyingSecType');
  const conId = r.readInt('underlyingConId');
  const cat = ctx.engine.catalogue;
  const under = (conId ? cat.byConId(conId) : undefined) ?? cat.bySymbol(symbol, secType || 'STK');
  const chain = under ? cat.optionsOf(under.conId) : [];
  if (under && chain.length > 0) {
    const expirations = [...new Set(chain.map((c) => c.lastTradeDate))].sort();
    const strikes = [...new Set(chain.map((c) => c.strike))].sort((a, b) => a - b);
    for (const exchange of ['SMART', 'CBOE', 'AMEX']) {
      s.send(
        secDefOptParams(
          reqId,
          exchange,
          under.conId,
          chain[0]!.tradingClass,
          chain[0]!.multiplier,
          expirations,
          strikes,
        ),
      );
    }
  }
  s.send(secDefOptParamsEnd(reqId));
}

export const CONTRACT_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_CONTRACT_DATA, { name: 'REQ_CONTRACT_DATA', handle: reqContractDetails }],
  [IN.REQ_MATCHING_SYMBOLS, { name: 'REQ_MATCHING_SYMBOLS', handle: reqMatchingSymbols }],
  [IN.REQ_SEC_DEF_OPT_PARAMS, { name: 'REQ_SEC_DEF_OPT_PARAMS', handle: reqSecDefOptParams }],
];
