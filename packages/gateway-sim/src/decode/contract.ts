import type { ContractQuery } from '../engine/catalogue.js';
import type { FieldReader } from '../wire/fields.js';

/**
 * The contract block most requests carry: conId, symbol, secType, lastTradeDateOrContractMonth, strike,
 * right, multiplier, exchange, primaryExch, currency, localSymbol, tradingClass.
 */
export function readContract(r: FieldReader): ContractQuery {
  return {
    conId: r.readInt('conId'),
    symbol: r.readStr('symbol'),
    secType: r.readStr('secType'),
    lastTradeDateOrContractMonth: r.readStr('lastTradeDateOrContractMonth'),
    strike: r.readDouble('strike'),
    right: r.readStr('right'),
    multiplier: r.readStr('multiplier'),
    exchange: r.readStr('exchange'),
    primaryExch: r.readStr('primaryExch'),
    currency: r.readStr('currency'),
    localSymbol: r.readStr('localSymbol'),
    tradingClass: r.readStr('tradingClass'),
  };
}

/** BAG combo legs (conId, ratio, action, exchange per leg) as REQ_MKT_DATA / REQ_HISTORICAL_DATA send them. */
export function skipComboLegs(r: FieldReader, secType: string | undefined): void {
  if ((secType ?? '').toUpperCase() !== 'BAG') return;
  const n = r.readInt('comboLegsCount');
  for (let i = 0; i < n * 4; i++) r.readStr('comboLeg');
}
