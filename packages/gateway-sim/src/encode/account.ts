import type { Position } from '../engine/accounts.js';
import { OUT } from '../wire/msg-ids.js';
import { optDouble, type Field } from '../wire/fields.js';

export const accountSummary = (
  reqId: number,
  account: string,
  tag: string,
  value: string,
  currency: string,
): Field[] => [OUT.ACCOUNT_SUMMARY, 1, reqId, account, tag, value, currency];
export const accountSummaryEnd = (reqId: number): Field[] => [OUT.ACCOUNT_SUMMARY_END, 1, reqId];

/** ACCT_VALUE (reqAccountUpdates): `6, 2, key, value, currency, account`. */
export const accountValue = (key: string, value: string, currency: string, account: string): Field[] => [
  OUT.ACCT_VALUE,
  2,
  key,
  value,
  currency,
  account,
];

/** PORTFOLIO_VALUE at message version 8 (conId, multiplier/primaryExch, tradingClass all present). */
export function portfolioValue(p: Position, marketPrice: number, account: string): Field[] {
  const c = p.contract;
  const mult = Number(c.multiplier) || 1;
  const marketValue = p.quantity * marketPrice * mult;
  const unrealized = marketValue - p.quantity * p.avgCost;
  return [
    OUT.PORTFOLIO_VALUE,
    8,
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    c.strike,
    c.right,
    c.multiplier,
    c.primaryExch,
    c.currency,
    c.localSymbol,
    c.tradingClass,
    p.quantity,
    marketPrice,
    Number(marketValue.toFixed(2)),
    p.avgCost,
    Number(unrealized.toFixed(2)),
    Number(p.realizedPnl.toFixed(2)),
    account,
  ];
}

export const accountUpdateTime = (hhmm: string): Field[] => [OUT.ACCT_UPDATE_TIME, 1, hhmm];
export const accountDownloadEnd = (account: string): Field[] => [OUT.ACCT_DOWNLOAD_END, 1, account];

/** POSITION at message version 3: `61, 3, account, contract…, position, avgCost`. */
export function position(account: string, p: Position): Field[] {
  const c = p.contract;
  return [
    OUT.POSITION,
    3,
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
  ];
}
export const positionEnd = (): Field[] => [OUT.POSITION_END, 1];

/** PNL (≥ PNL; unrealized ≥ UNREALIZED_PNL, realized ≥ REALIZED_PNL: always inside 164–193). */
export const pnl = (reqId: number, daily: number, unrealized: number, realized: number): Field[] => [
  OUT.PNL,
  reqId,
  round2(daily),
  round2(unrealized),
  round2(realized),
];

export const pnlSingle = (
  reqId: number,
  pos: number,
  daily: number,
  unrealized: number,
  realized: number,
  value: number,
): Field[] => [OUT.PNL_SINGLE, reqId, pos, round2(daily), round2(unrealized), round2(realized), round2(value)];

/** PNL_SINGLE for a conId the account does not hold: IB sends unset values. */
export const pnlSingleUnset = (reqId: number): Field[] => [
  OUT.PNL_SINGLE,
  reqId,
  0,
  optDouble(undefined),
  optDouble(undefined),
  optDouble(undefined),
  optDouble(undefined),
];

function round2(n: number): number {
  return Number(n.toFixed(2));
}
