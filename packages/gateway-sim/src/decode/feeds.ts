import type { ContractQuery } from '../engine/catalogue.js';
import type { FieldReader } from '../wire/fields.js';
import { readContract } from './contract.js';

/**
 * Feed requests as @stoqey/ib and IB's EClient send them from server version 164 on: every version gate
 * they carry (TRADING_CLASS 68, LINKING 70, SCANNER_GENERIC_OPTS 143, SMART_DEPTH 146,
 * MKT_DEPTH_PRIM_EXCHANGE 149, REPLACE_FA_END 157) lies below that, so each layout here is fixed.
 */

export interface DepthRequest {
  reqId: number;
  contract: ContractQuery;
  numRows: number;
  isSmartDepth: boolean;
}

/** REQ_MKT_DEPTH at message version 5: the 12-field contract (primaryExch included), numRows, isSmartDepth, options. */
export function readMktDepth(r: FieldReader): DepthRequest {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  const numRows = r.readInt('numRows');
  const isSmartDepth = r.readBool('isSmartDepth');
  r.readStr('mktDepthOptions');
  return { reqId, contract, numRows, isSmartDepth };
}

export interface RealTimeBarsRequest {
  reqId: number;
  contract: ContractQuery;
  barSize: number;
  whatToShow: string;
  useRTH: boolean;
}

/** REQ_REAL_TIME_BARS at message version 3: contract with tradingClass, barSize, whatToShow, useRTH, options. */
export function readRealTimeBars(r: FieldReader): RealTimeBarsRequest {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  const barSize = r.readInt('barSize');
  const whatToShow = r.readStr('whatToShow');
  const useRTH = r.readBool('useRTH');
  r.readStr('realTimeBarsOptions');
  return { reqId, contract, barSize, whatToShow, useRTH };
}

/** REQ_FUNDAMENTAL_DATA at message version 2: a 7-field contract, reportType, options. */
export function readFundamentalData(r: FieldReader): { reqId: number; contract: ContractQuery; reportType: string } {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const contract: ContractQuery = {
    conId: r.readInt('conId'),
    symbol: r.readStr('symbol'),
    secType: r.readStr('secType'),
    exchange: r.readStr('exchange'),
    primaryExch: r.readStr('primaryExch'),
    currency: r.readStr('currency'),
    localSymbol: r.readStr('localSymbol'),
  };
  const reportType = r.readStr('reportType');
  r.readStr('fundamentalDataOptions');
  return { reqId, contract, reportType };
}

export interface ScannerRequest {
  reqId: number;
  numberOfRows: number | undefined;
  instrument: string;
  locationCode: string;
  scanCode: string;
  abovePrice?: number;
  belowPrice?: number;
  aboveVolume?: number;
}

/**
 * REQ_SCANNER_SUBSCRIPTION without a version (≥ SCANNER_GENERIC_OPTS): the subscription, filter and options lists.
 */
export function readScannerSubscription(r: FieldReader): ScannerRequest {
  const reqId = r.readInt('reqId');
  const numberOfRows = r.readIntOrUndefined('numberOfRows');
  const instrument = r.readStr('instrument');
  const locationCode = r.readStr('locationCode');
  const scanCode = r.readStr('scanCode');
  const abovePrice = r.readDoubleOrUndefined('abovePrice');
  const belowPrice = r.readDoubleOrUndefined('belowPrice');
  const aboveVolume = r.readIntOrUndefined('aboveVolume');
  r.readStr('marketCapAbove');
  r.readStr('marketCapBelow');
  r.readStr('moodyRatingAbove');
  r.readStr('moodyRatingBelow');
  r.readStr('spRatingAbove');
  r.readStr('spRatingBelow');
  r.readStr('maturityDateAbove');
  r.readStr('maturityDateBelow');
  r.readStr('couponRateAbove');
  r.readStr('couponRateBelow');
  r.readStr('excludeConvertible');
  r.readStr('averageOptionVolumeAbove');
  r.readStr('scannerSettingPairs');
  r.readStr('stockTypeFilter');
  r.readStr('scannerSubscriptionFilterOptions');
  r.readStr('scannerSubscriptionOptions');
  return { reqId, numberOfRows, instrument, locationCode, scanCode, abovePrice, belowPrice, aboveVolume };
}

export interface HistoricalNewsRequest {
  reqId: number;
  conId: number;
  providerCodes: string[];
  startDateTime: string;
  endDateTime: string;
  totalResults: number;
}

/** REQ_HISTORICAL_NEWS: reqId, conId, providerCodes ("BRFG+DJNL"), start, end, totalResults, options. */
export function readHistoricalNews(r: FieldReader): HistoricalNewsRequest {
  const reqId = r.readInt('reqId');
  const conId = r.readInt('conId');
  const providerCodes = r
    .readStr('providerCodes')
    .split('+')
    .map((p) => p.trim())
    .filter(Boolean);
  const startDateTime = r.readStr('startDateTime');
  const endDateTime = r.readStr('endDateTime');
  const totalResults = r.readInt('totalResults');
  r.readStr('historicalNewsOptions');
  return { reqId, conId, providerCodes, startDateTime, endDateTime, totalResults };
}

/** REQ_NEWS_ARTICLE: reqId, providerCode, articleId, options. */
export function readNewsArticle(r: FieldReader): { reqId: number; providerCode: string; articleId: string } {
  const reqId = r.readInt('reqId');
  const providerCode = r.readStr('providerCode');
  const articleId = r.readStr('articleId');
  r.readStr('newsArticleOptions');
  return { reqId, providerCode, articleId };
}
