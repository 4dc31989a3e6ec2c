import type { Position } from '../engine/accounts.js';
import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

/** ACCOUNT_UPDATE_MULTI (IB's EDecoder): version 1, reqId, account, modelCode, key, value, currency. */
export const accountUpdateMulti = (
  reqId: number,
  account: string,
  key: string,
  value: string,
  currency: string,
): Field[] => [OUT.ACCOUNT_UPDATE_MULTI, 1, reqId, account, '', key, value, currency];

export const accountUpdateMultiEnd = (reqId: number): Field[] => [OUT.ACCOUNT_UPDATE_MULTI_END, 1, reqId];

/**
 * POSITION_MULTI (IB's EDecoder): version 1, reqId, account, conId, symbol, secType, lastTradeDate, strike,
 * right, multiplier, exchange, currency, localSymbol, tradingClass, position, avgCost, modelCode.
 */
export function positionMulti(reqId: number, account: string, p: Position): Field[] {
  const c = p.contract;
  return [
    OUT.POSITION_MULTI,
    1,
    reqId,
    account,
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    c.strike,
    c.right,
    c.multiplier,
    c.secType === 'STK' ? '' : c.exchange,
    c.currency,
    c.localSymbol,
    c.tradingClass,
    p.quantity,
    p.avgCost,
    '',
  ];
}

export const positionMultiEnd = (reqId: number): Field[] => [OUT.POSITION_MULTI_END, 1, reqId];
