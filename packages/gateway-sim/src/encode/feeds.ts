import { OUT } from '../wire/msg-ids.js';
import { MIN_SERVER_VER } from '../wire/server-versions.js';
import { optInt, type Field } from '../wire/fields.js';
import type { DepthExchange } from '../engine/depth.js';

/** Depth row operations and sides, as IB numbers them. */
export const DEPTH_OP = { insert: 0, update: 1, delete: 2 } as const;
export const DEPTH_SIDE = { ask: 0, bid: 1 } as const;

export const marketDepth = (
  reqId: number,
  position: number,
  op: number,
  side: number,
  price: number,
  size: number,
): Field[] => [OUT.MARKET_DEPTH, 1, reqId, position, op, side, price, size];

export function marketDepthL2(
  sv: number,
  reqId: number,
  position: number,
  marketMaker: string,
  op: number,
  side: number,
  price: number,
  size: number,
  isSmartDepth: boolean,
): Field[] {
  const f: Field[] = [OUT.MARKET_DEPTH_L2, 1, reqId, position, marketMaker, op, side, price, size];
  if (sv >= MIN_SERVER_VER.SMART_DEPTH) f.push(isSmartDepth);
  return f;
}

export function mktDepthExchanges(sv: number, list: readonly DepthExchange[]): Field[] {
  const f: Field[] = [OUT.MKT_DEPTH_EXCHANGES, list.length];
  for (const d of list) {
    if (sv >= MIN_SERVER_VER.SERVICE_DATA_TYPE)
      f.push(d.exchange, d.secType, d.listingExch, d.serviceDataType, optInt(d.aggGroup));
    else f.push(d.exchange, d.secType, d.serviceDataType === 'Deep2');
  }
  return f;
}

/** REAL_TIME_BARS at message version 3; volume, wap and count are −1 for quote-based bars. */
export const realTimeBar = (
  reqId: number,
  time: number,
  o: number,
  h: number,
  l: number,
  c: number,
  volume: number,
  wap: number,
  count: number,
): Field[] => [OUT.REAL_TIME_BARS, 3, reqId, time, o, h, l, c, volume, wap, count];

export const newsBulletin = (id: number, type: number, message: string, exchange: string): Field[] => [
  OUT.NEWS_BULLETINS,
  1,
  id,
  type,
  message,
  exchange,
];

export function newsProviders(list: ReadonlyArray<{ code: string; name: string }>): Field[] {
  return [OUT.NEWS_PROVIDERS, list.length, ...list.flatMap((p) => [p.code, p.name])];
}

export const historicalNews = (
  reqId: number,
  time: string,
  provider: string,
  articleId: string,
  headline: string,
): Field[] => [OUT.HISTORICAL_NEWS, reqId, time, provider, articleId, headline];
export const historicalNewsEnd = (reqId: number, hasMore: boolean): Field[] => [
  OUT.HISTORICAL_NEWS_END,
  reqId,
  hasMore,
];
/** articleType 0 = plain text/HTML, 1 = binary (base64, e.g. PDF). */
export const newsArticle = (reqId: number, articleType: number, text: string): Field[] => [
  OUT.NEWS_ARTICLE,
  reqId,
  articleType,
  text,
];

export const scannerParameters = (xml: string): Field[] => [OUT.SCANNER_PARAMETERS, 1, xml];

export interface ScannerRow {
  rank: number;
  conId: number;
  symbol: string;
  secType: string;
  lastTradeDate: string;
  strike: number;
  right: string;
  exchange: string;
  currency: string;
  localSymbol: string;
  marketName: string;
  tradingClass: string;
  distance: string;
  benchmark: string;
  projection: string;
  legs: string;
}

/** SCANNER_DATA at message version 3 (conId per row, combo legs string); the decoder emits the end itself. */
export function scannerData(reqId: number, rows: readonly ScannerRow[]): Field[] {
  const f: Field[] = [OUT.SCANNER_DATA, 3, reqId, rows.length];
  for (const r of rows) {
    f.push(
      r.rank,
      r.conId,
      r.symbol,
      r.secType,
      r.lastTradeDate,
      r.strike,
      r.right,
      r.exchange,
      r.currency,
      r.localSymbol,
      r.marketName,
      r.tradingClass,
      r.distance,
      r.benchmark,
      r.projection,
      r.legs,
    );
  }
  return f;
}

export const fundamentalData = (reqId: number, xml: string): Field[] => [OUT.FUNDAMENTAL_DATA, 1, reqId, xml];

export const displayGroupList = (reqId: number, groups: string): Field[] => [OUT.DISPLAY_GROUP_LIST, 1, reqId, groups];
export const displayGroupUpdated = (reqId: number, contractInfo: string): Field[] => [
  OUT.DISPLAY_GROUP_UPDATED,
  1,
  reqId,
  contractInfo,
];

export const receiveFa = (faDataType: number, xml: string): Field[] => [OUT.RECEIVE_FA, 1, faDataType, xml];
export const replaceFaEnd = (reqId: number, text: string): Field[] => [OUT.REPLACE_FA_END, reqId, text];
