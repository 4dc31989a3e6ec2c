import type { Execution } from '../engine/orders.js';
import { ibDateTime } from '../engine/clock.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import { OUT } from '../wire/msg-ids.js';
import { optDouble, type Field } from '../wire/fields.js';

/** EXECUTION_DATA without a version (≥ LAST_LIQUIDITY); pendingPriceRevision from PENDING_PRICE_REVISION. */
export function executionData(sv: number, reqId: number, e: Execution): Field[] {
  const c = e.contract;
  const f: Field[] = [
    OUT.EXECUTION_DATA,
    reqId,
    e.orderId,
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    c.strike,
    c.right,
    c.multiplier,
    c.exchange,
    c.currency,
    c.localSymbol,
    c.tradingClass,
    e.execId,
    `${ibDateTime(e.time)} UTC`,
    e.account,
    e.exchange,
    e.side,
    e.shares,
    e.price,
    e.permId,
    e.clientId,
    /* liquidation */ 0,
    e.cumQty,
    e.avgPrice,
    e.orderRef,
    /* evRule */ '',
    /* evMultiplier */ '',
    /* modelCode */ '',
    /* lastLiquidity */ 1,
  ];
  if (sv >= V.PENDING_PRICE_REVISION) f.push(/* pendingPriceRevision */ 0);
  return f;
}

export const executionDataEnd = (reqId: number): Field[] => [OUT.EXECUTION_DATA_END, 1, reqId];

/** COMMISSION_REPORT: realizedPNL and yield unset (MAX_VALUE) unless the fill closed a position. */
export const commissionReport = (e: Execution): Field[] => [
  OUT.COMMISSION_REPORT,
  1,
  e.execId,
  e.commission,
  e.contract.currency,
  optDouble(e.realizedPnl),
  optDouble(undefined),
  '',
];
