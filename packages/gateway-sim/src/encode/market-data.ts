import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

/** TICK_PRICE at message version 6: size and attribute mask (bit 0 canAutoExecute). */
export const tickPrice = (reqId: number, tickType: number, price: number, size: number | '', attrMask = 0): Field[] => [
  OUT.TICK_PRICE,
  6,
  reqId,
  tickType,
  price,
  size,
  attrMask,
];
export const tickSize = (reqId: number, tickType: number, size: number): Field[] => [
  OUT.TICK_SIZE,
  6,
  reqId,
  tickType,
  size,
];
export const tickGeneric = (reqId: number, tickType: number, value: number): Field[] => [
  OUT.TICK_GENERIC,
  6,
  reqId,
  tickType,
  value,
];
export const tickString = (reqId: number, tickType: number, value: string): Field[] => [
  OUT.TICK_STRING,
  6,
  reqId,
  tickType,
  value,
];
export const tickSnapshotEnd = (reqId: number): Field[] => [OUT.TICK_SNAPSHOT_END, 1, reqId];
export const marketDataType = (reqId: number, type: number): Field[] => [OUT.MARKET_DATA_TYPE, 1, reqId, type];
/** TICK_REQ_PARAMS: sent first for every market-data request, as TWS does. */
export const tickReqParams = (
  reqId: number,
  minTick: number,
  bboExchange: string,
  snapshotPermissions: number,
): Field[] => [OUT.TICK_REQ_PARAMS, reqId, minTick, bboExchange, snapshotPermissions];
