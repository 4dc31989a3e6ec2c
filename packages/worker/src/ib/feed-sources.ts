import {
  EventName,
  ScanCode,
  type BarSizeSetting,
  type Contract,
  type IBApi,
  type MarketDataType,
  type ScannerSubscription,
  type TagValue,
  type WhatToShow,
} from '@stoqey/ib';
import tickTypeModule from '@stoqey/ib/dist/api/market/tickType.js';
import type { FeedEmitter, FeedIbSpec, FeedSource } from '../feeds/types.js';
import type { ContractData } from '../state/types.js';
import { ibErrorToApiError } from './error-codes.js';
import { toBar, type BarQuery } from './historical.js';
import { DepthBook } from './depth.js';
import { MarketDepthBooksExhaustedError } from '../feeds/errors.js';

const TICK_NAMES = (tickTypeModule as unknown as { TickType: Record<number, string> }).TickType;

/** IB's market data types by the names the API takes. */
export const MARKET_DATA_TYPES = { live: 1, frozen: 2, delayed: 3, 'delayed-frozen': 4 } as const;
export type MarketDataTypeName = keyof typeof MARKET_DATA_TYPES;

/** Request-level codes that warn about a subscription without ending it (data keeps flowing, maybe delayed). */
const WARNING_CODES = new Set([
  10089, // Requested market data requires additional subscription; delayed data is available.
  10090, // Part of requested market data is not subscribed.
  10167, // Displaying delayed market data.
  10197, // No market data during competing live session.
  317, // Market depth data has been reset (the book is rebuilt from the next updates).
]);

/** Stable text of a contract for subscription keys (sorted fields). */
export function contractKey(c: ContractData): string {
  return Object.entries(c)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** The contract as callers see it in events (what they asked for: symbol, conId, …). */
const label = (c: ContractData) => ({
  ...(c.conId !== undefined ? { conId: c.conId } : {}),
  ...(c.symbol !== undefined ? { symbol: c.symbol } : {}),
});

function spec(s: {
  start(api: IBApi, reqId: number): void;
  cancel(api: IBApi, reqId: number): void;
  onEvent(name: string, args: unknown[]): void;
  onError?(e: { reqId: number; code: number; message: string }): void;
  onRestart?(): void;
}): FeedIbSpec {
  return s as FeedIbSpec;
}

/** Reports IB's refusal of a subscription, or a warning about it as a `status` event. */
function errorHandler(out: FeedEmitter, operation: string) {
  return (e: { code: number; message: string }) => {
    if (WARNING_CODES.has(e.code)) {
      out.emit('status', { state: 'warning', ibCode: e.code, message: e.message, at: new Date().toISOString() });
      return;
    }
    out.fail(
      e.code === 309
        ? new MarketDepthBooksExhaustedError(e.message, { ibCode: 309 })
        : ibErrorToApiError(e.code, e.message, { operation }),
    );
  };
}

/**
 * The session's market data type is one setting per connection (reqMarketDataType): it is sent only when
 * a subscription needs a different one than the last sent on this IBApi (IB's default is live).
 */
const sessionDataType = new WeakMap<IBApi, number>();
function ensureDataType(api: IBApi, type: number): void {
  if ((sessionDataType.get(api) ?? 1) === type) return;
  api.reqMarketDataType(type as MarketDataType);
  sessionDataType.set(api, type);
}

/** Streaming top-of-book ticks of one contract: `tick` events, one field each (latest value wins). */
/** Size tick type IB derives from a price tick (bid 1 → 0, ask 2 → 3, last 4 → 5, and their delayed twins). */
const DERIVED_SIZE: Readonly<Record<number, number>> = { 1: 0, 2: 3, 4: 5, 66: 69, 67: 70, 68: 71 };

export function marketDataSource(
  contract: ContractData,
  genericTickList: string,
  dataType: MarketDataTypeName,
): FeedSource {
  const type = MARKET_DATA_TYPES[dataType];
  const who = label(contract);
  /**
   * IB's TICK_PRICE carries the size too (the client library reports it as a tickSize right after the price),
   * and IB then sends the same size again as its own TICK_SIZE: the repeat is one update, not two.
   */
  let derivedNext: number | undefined;
  const derived = new Map<number, unknown>();
  return {
    key: `market_data|${contractKey(contract)}|${genericTickList}|${type}`,
    kind: 'market_data',
    title: `market data ${contract.symbol ?? contract.conId} (${dataType})`,
    lines: 1,
    depthBooks: 0,
    start: (out) =>
      spec({
        start: (api, reqId) => {
          ensureDataType(api, type);
          api.reqMktData(reqId, contract as Contract, genericTickList, false, false);
        },
        cancel: (api, reqId) => api.cancelMktData(reqId),
        onEvent: (name, args) => {
          if (
            name !== EventName.tickPrice &&
            name !== EventName.tickSize &&
            name !== EventName.tickGeneric &&
            name !== EventName.tickString
          )
            return;
          const [tickType, value] = args as [number | undefined, number | string | undefined];
          if (tickType === undefined || value === undefined) return;
          if (name === EventName.tickPrice) derivedNext = DERIVED_SIZE[tickType];
          else if (name === EventName.tickSize) {
            if (derivedNext === tickType) derived.set(tickType, value);
            else if (derived.has(tickType)) {
              const repeat = derived.get(tickType) === value;
              derived.delete(tickType);
              if (repeat) return;
            }
            derivedNext = undefined;
          } else derivedNext = undefined;
          const field = TICK_NAMES[tickType] ?? String(tickType);
          out.emit('tick', { ...who, field, tickType, value }, `${who.conId ?? who.symbol}:${field}`);
        },
        onError: errorHandler(out, 'market_data'),
        onRestart: () => {
          derived.clear();
          derivedNext = undefined;
        },
      }),
  };
}

/** Quiet time (no row arriving) after which a book left unsorted or crossed is taken as IB sent it. */
export const DEPTH_SETTLE_MS = 250;
/** Longest a book may stay unpublished while its rows keep arriving unsorted or crossed. */
export const DEPTH_SETTLE_MAX_MS = 2000;

/** Level-2 book of one contract: a `book` event with the whole book after every batch of changes (latest wins). */
export function depthSource(contract: ContractData, numRows: number, isSmartDepth: boolean): FeedSource {
  const who = label(contract);
  return {
    key: `market_depth|${contractKey(contract)}|${numRows}|${isSmartDepth}`,
    kind: 'market_depth',
    title: `market depth ${contract.symbol ?? contract.conId}`,
    lines: 0,
    depthBooks: 1,
    isComplete: (data) => (data as { complete?: boolean }).complete === true,
    start: (out) => {
      const book = new DepthBook(numRows);
      let scheduled = false;
      let settle: NodeJS.Timeout | undefined;
      /** When the book last went from consistent to mid-update (undefined while consistent). */
      let unsettledSince: number | undefined;
      const publish = () => {
        if (settle !== undefined) clearTimeout(settle);
        settle = undefined;
        unsettledSince = undefined;
        out.emit('book', { ...who, isSmartDepth, ...book.toJSON() }, 'book');
      };
      /**
       * IB moves a book with several row messages in a row (insert here, delete there): the book is published
       * once per batch, after the messages that arrived together were applied. A batch that leaves the book
       * unsorted or crossed is mid-update: the rest is awaited until no row came for DEPTH_SETTLE_MS (at most
       * DEPTH_SETTLE_MAX_MS in all), after which the book is IB's own and published as it is (`crossed: true`
       * if it is).
       */
      const flush = () => {
        scheduled = false;
        if (book.consistent) return publish();
        unsettledSince ??= Date.now();
        if (settle !== undefined) clearTimeout(settle);
        const left = DEPTH_SETTLE_MAX_MS - (Date.now() - unsettledSince);
        settle = setTimeout(publish, Math.max(0, Math.min(DEPTH_SETTLE_MS, left)));
      };
      return spec({
        start: (api, reqId) => api.reqMktDepth(reqId, contract as Contract, numRows, isSmartDepth, [] as TagValue[]),
        cancel: (api, reqId) => {
          if (settle !== undefined) clearTimeout(settle);
          settle = undefined;
          unsettledSince = undefined;
          api.cancelMktDepth(reqId, isSmartDepth);
        },
        onEvent: (name, args) => {
          if (name === EventName.updateMktDepth) {
            const [position, operation, side, price, size] = args as number[];
            book.apply({ position: position!, operation: operation!, side: side!, price: price!, size: size! });
          } else if (name === EventName.updateMktDepthL2) {
            const [position, marketMaker, operation, side, price, size] = args as [
              number,
              string,
              number,
              number,
              number,
              number,
            ];
            book.apply({ position, operation, side, price, size, marketMaker });
          } else return;
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        },
        onError: (e) => {
          if (e.code === 317) book.clear();
          errorHandler(out, 'market_depth')(e);
        },
        onRestart: () => book.clear(),
      });
    },
  };
}

/**
 * Historical bars kept up to date (reqHistoricalData with keepUpToDate): the period's bars, then IB's
 * updates of the forming bar, each a `bar` event (latest wins per bar time, so a joining caller gets every
 * bar once, at its newest state) and `loaded` once the history is in.
 */
export function historicalSource(q: BarQuery, timeZone: string): FeedSource {
  const who = label(q.contract);
  const params = `${q.durationStr}|${q.barSizeSetting}|${q.whatToShow}|${q.useRTH}|${q.formatDate ?? 1}`;
  return {
    key: `historical|${contractKey(q.contract)}|${params}`,
    kind: 'historical',
    title: `historical ${q.contract.symbol ?? q.contract.conId} ${q.barSizeSetting} ${q.whatToShow} (kept up to date)`,
    lines: 0,
    depthBooks: 0,
    start: (out) => {
      let bars = 0;
      return spec({
        start: (api, reqId) => {
          bars = 0;
          const barSize = q.barSizeSetting as BarSizeSetting;
          const what = q.whatToShow as WhatToShow;
          const rth = q.useRTH ? 1 : 0;
          const contract = q.contract as Contract;
          api.reqHistoricalData(reqId, contract, '', q.durationStr, barSize, what, rth, q.formatDate ?? 1, true);
        },
        cancel: (api, reqId) => api.cancelHistoricalData(reqId),
        onEvent: (name, args) => {
          if (name !== EventName.historicalData && name !== EventName.historicalDataUpdate) return;
          type BarArgs = [string, number, number, number, number, number, number | undefined, number];
          const [time, open, high, low, close, volume, count, WAP] = args as BarArgs;
          if (typeof time === 'string' && time.startsWith('finished')) {
            out.emit('loaded', { ...who, bars, at: new Date().toISOString() });
            return;
          }
          if (name === EventName.historicalData) bars++;
          const bar = toBar(time, open, high, low, close, volume, count, WAP, timeZone);
          out.emit('bar', { ...who, ...bar, update: name === EventName.historicalDataUpdate }, `bar:${bar.ibTime}`);
        },
        onError: errorHandler(out, 'historical'),
      });
    },
  };
}

/** IB's real-time 5-second bars of one contract: `bar` events (a series, never coalesced). */
export function barsSource(contract: ContractData, whatToShow: string, useRTH: boolean): FeedSource {
  const who = label(contract);
  return {
    key: `bars|${contractKey(contract)}|${whatToShow}|${useRTH}`,
    kind: 'bars',
    title: `real-time bars ${contract.symbol ?? contract.conId} ${whatToShow}`,
    lines: 1,
    depthBooks: 0,
    start: (out) =>
      spec({
        start: (api, reqId) => api.reqRealTimeBars(reqId, contract as Contract, 5, whatToShow as WhatToShow, useRTH),
        cancel: (api, reqId) => api.cancelRealTimeBars(reqId),
        onEvent: (name, args) => {
          if (name !== EventName.realtimeBar) return;
          const [time, open, high, low, close, volume, WAP, count] = args as number[];
          out.emit('bar', { ...who, time, open, high, low, close, volume, WAP, count });
        },
        onError: errorHandler(out, 'bars'),
      }),
  };
}

export type ScannerParams = Omit<ScannerSubscription, 'scanCode'> & {
  scanCode: string;
  filters?: Record<string, string>;
};

/** Scan codes added to @stoqey/ib's ScanCode table: code → numeric alias. */
const extraScanCodes = new Map<string, number>();

/**
 * @stoqey/ib encodes `ScanCode[subscription.scanCode]`, i.e. it wants the enum's number and sends its name.
 * Codes the enum lacks (IB adds scan codes over time) get a fresh numeric alias whose name is the code.
 */
function scanCodeValue(code: string): ScanCode {
  const table = ScanCode as unknown as Record<string | number, string | number>;
  const known = table[code];
  if (typeof known === 'number') return known as ScanCode;
  let alias = extraScanCodes.get(code);
  if (alias === undefined) {
    alias = 1_000_000 + extraScanCodes.size;
    extraScanCodes.set(code, alias);
    table[alias] = code;
  }
  return alias as ScanCode;
}

/** A live scanner subscription: a `scan` event with all rows after each scannerDataEnd (latest wins). */
export function scannerSource(params: ScannerParams): FeedSource {
  const { filters, ...subscription } = params;
  const filterOptions: TagValue[] = Object.entries(filters ?? {}).map(([tag, value]) => ({ tag, value }));
  const key = `scanner|${contractKey(subscription as ContractData)}|${contractKey(filters ?? {})}`;
  return {
    key,
    kind: 'scanner',
    title:
      `scanner ${subscription.scanCode} ${subscription.instrument ?? ''} ${subscription.locationCode ?? ''}`.trim(),
    lines: 0,
    depthBooks: 0,
    start: (out) => {
      let rows: unknown[] = [];
      return spec({
        start: (api, reqId) => {
          rows = [];
          api.reqScannerSubscription(
            reqId,
            { ...subscription, scanCode: scanCodeValue(subscription.scanCode) },
            [],
            filterOptions,
          );
        },
        cancel: (api, reqId) => api.cancelScannerSubscription(reqId),
        onEvent: (name, args) => {
          if (name === EventName.scannerData) {
            const [rank, details, distance, benchmark, projection, legsStr] = args as [
              number,
              { contract?: unknown },
              string,
              string,
              string,
              string?,
            ];
            rows.push({
              rank,
              contract: details?.contract,
              contractDetails: details,
              distance,
              benchmark,
              projection,
              legsStr,
            });
          } else if (name === EventName.scannerDataEnd) {
            out.emit('scan', { scanCode: subscription.scanCode, rows }, 'scan');
            rows = [];
          }
        },
        onError: errorHandler(out, 'scanner'),
      });
    },
  };
}

/** One fundamental-data report (XML) of a contract: a `report` event. */
export function fundamentalSource(contract: ContractData, reportType: string): FeedSource {
  const who = label(contract);
  return {
    key: `fundamental|${contractKey(contract)}|${reportType}`,
    kind: 'fundamental',
    title: `fundamental ${reportType} ${contract.symbol ?? contract.conId}`,
    lines: 0,
    depthBooks: 0,
    start: (out) =>
      spec({
        start: (api, reqId) => api.reqFundamentalData(reqId, contract as Contract, reportType, []),
        cancel: (api, reqId) => api.cancelFundamentalData(reqId),
        onEvent: (name, args) => {
          if (name !== EventName.fundamentalData) return;
          out.emit('report', { ...who, reportType, xml: args[0] as string }, 'report');
        },
        onError: errorHandler(out, 'fundamental'),
      }),
  };
}

/** Events of one TWS display group: a `group` event with the group's current contract (latest wins). */
export class DisplayGroupSource implements FeedSource {
  readonly kind = 'display_group' as const;
  readonly lines = 0;
  readonly depthBooks = 0;
  readonly key: string;
  readonly title: string;
  /** reqId of the live IB subscription (updateDisplayGroup must name it). */
  reqId: number | undefined;

  constructor(readonly groupId: number) {
    this.key = `display_group|${groupId}`;
    this.title = `display group ${groupId}`;
  }

  start(out: FeedEmitter): FeedIbSpec {
    return spec({
      start: (api, reqId) => {
        this.reqId = reqId;
        api.subscribeToGroupEvents(reqId, this.groupId);
      },
      cancel: (api, reqId) => api.unsubscribeFromGroupEvents(reqId),
      onEvent: (name, args) => {
        if (name !== EventName.displayGroupUpdated) return;
        out.emit('group', { groupId: this.groupId, contractInfo: args[0] as string }, 'group');
      },
      onError: errorHandler(out, 'display_group'),
    });
  }
}
