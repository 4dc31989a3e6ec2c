import type { ContractDef } from '../engine/catalogue.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

const TRADING_HOURS = '20260105:0400-20260105:2000;20260106:0400-20260106:2000';
const LIQUID_HOURS = '20260105:0930-20260105:1600;20260106:0930-20260106:1600';

/**
 * CONTRACT_DATA without a message version (≥ SIZE_RULES): the layout EDecoder.processContractDataMsg reads,
 * with lastTradeDate (LAST_TRADE_DATE), fund fields for FUND only (FUND_DATA_FIELDS) and the
 * ineligibility list (INELIGIBILITY_REASONS) gated on the server version.
 */
export function contractData(sv: number, reqId: number, c: ContractDef): Field[] {
  const f: Field[] = [OUT.CONTRACT_DATA, reqId, c.symbol, c.secType, c.lastTradeDate];
  if (sv >= V.LAST_TRADE_DATE) f.push(c.lastTradeDate);
  f.push(
    c.strike,
    c.right,
    c.exchange,
    c.currency,
    c.localSymbol,
    /* marketName */ c.tradingClass,
    c.tradingClass,
    c.conId,
    c.minTick,
    c.multiplier,
    c.orderTypes,
    c.validExchanges,
    /* priceMagnifier */ 1,
    c.underConId,
    c.longName,
    c.primaryExch,
    /* contractMonth */ c.lastTradeDate.slice(0, 6),
    c.industry,
    c.category,
    c.subcategory,
    c.timeZoneId,
    TRADING_HOURS,
    LIQUID_HOURS,
    /* evRule */ '',
    /* evMultiplier */ '',
  );
  if (c.isin) f.push(1, 'ISIN', c.isin);
  else f.push(0);
  f.push(
    /* aggGroup */ 1,
    c.underSymbol,
    c.underSecType,
    c.marketRuleIds,
    /* realExpirationDate */ c.lastTradeDate,
    c.stockType,
    /* minSize */ c.secType === 'STK' ? 0.0001 : 1,
    /* sizeIncrement */ c.secType === 'STK' ? 0.0001 : 1,
    /* suggestedSizeIncrement */ c.secType === 'STK' ? 100 : 1,
  );
  if (sv >= V.INELIGIBILITY_REASONS) f.push(0);
  return f;
}

export const contractDataEnd = (reqId: number): Field[] => [OUT.CONTRACT_DATA_END, 1, reqId];

/** SYMBOL_SAMPLES: description and issuerId only from BOND_ISSUERID. */
export function symbolSamples(sv: number, reqId: number, list: ContractDef[]): Field[] {
  const f: Field[] = [OUT.SYMBOL_SAMPLES, reqId, list.length];
  for (const c of list) {
    f.push(c.conId, c.symbol, c.secType, c.primaryExch || c.exchange, c.currency);
    const derivs = c.secType === 'STK' ? (c.symbol === 'AAPL' ? ['OPT', 'CFD'] : ['CFD']) : [];
    f.push(derivs.length, ...derivs);
    if (sv >= V.BOND_ISSUERID) f.push(c.longName, '');
  }
  return f;
}

export function secDefOptParams(
  reqId: number,
  exchange: string,
  underConId: number,
  tradingClass: string,
  multiplier: string,
  expirations: string[],
  strikes: number[],
): Field[] {
  return [
    OUT.SECURITY_DEFINITION_OPTION_PARAMETER,
    reqId,
    exchange,
    underConId,
    tradingClass,
    multiplier,
    expirations.length,
    ...expirations,
    strikes.length,
    ...strikes,
  ];
}

export const secDefOptParamsEnd = (reqId: number): Field[] => [OUT.SECURITY_DEFINITION_OPTION_PARAMETER_END, reqId];
