import type { ContractDef } from './catalogue.js';
import type { Quote } from './market.js';
import { Random, roundTo } from './random.js';

/** One depth venue as MKT_DEPTH_EXCHANGES describes it. */
export interface DepthExchange {
  exchange: string;
  secType: string;
  listingExch: string;
  /** "Deep" = level 1 rows (MARKET_DEPTH), "Deep2" = rows per market maker (MARKET_DEPTH_L2). */
  serviceDataType: 'Deep' | 'Deep2';
  aggGroup?: number;
}

/** The venues whose books the simulator serves (a typical US paper account's list). */
export const DEPTH_EXCHANGES: readonly DepthExchange[] = [
  { exchange: 'ISLAND', secType: 'STK', listingExch: 'NASDAQ', serviceDataType: 'Deep2', aggGroup: 1 },
  { exchange: 'ARCA', secType: 'STK', listingExch: 'ARCA', serviceDataType: 'Deep', aggGroup: 2 },
  { exchange: 'NYSE', secType: 'STK', listingExch: 'NYSE', serviceDataType: 'Deep', aggGroup: 3 },
  { exchange: 'BATS', secType: 'STK', listingExch: '', serviceDataType: 'Deep', aggGroup: 4 },
  { exchange: 'IEX', secType: 'STK', listingExch: '', serviceDataType: 'Deep', aggGroup: 7 },
  { exchange: 'CME', secType: 'FUT', listingExch: '', serviceDataType: 'Deep2' },
  { exchange: 'IDEALPRO', secType: 'CASH', listingExch: '', serviceDataType: 'Deep' },
];

/** Market makers quoted on an L2 book (ISLAND) and the venues aggregated by SMART depth. */
const ISLAND_MAKERS = ['NSDQ', 'ARCX', 'EDGX', 'BATS', 'IEXG'];
const SMART_VENUES = ['NSDQ', 'ARCA', 'NYSE', 'BATS', 'IEX'];

export interface DepthLevel {
  price: number;
  size: number;
  marketMaker: string;
}

export interface DepthBook {
  bids: DepthLevel[];
  asks: DepthLevel[];
}

/** The venue a depth request names, or undefined when IB would answer 10092. */
export function depthVenue(
  exchange: string,
  secType: string,
  isSmartDepth: boolean,
): DepthExchange | 'SMART' | undefined {
  const ex = exchange.toUpperCase();
  if (ex === 'SMART') return isSmartDepth && secType === 'STK' ? 'SMART' : undefined;
  return DEPTH_EXCHANGES.find((d) => d.exchange === ex && d.secType === secType);
}

/**
 * Rows on both sides around the current quote, one tick apart. A level's size is a pure function of
 * (seed, conId, side, price), so the book is deterministic and only rows whose price moved change.
 */
export function buildBook(
  seed: number,
  c: ContractDef,
  q: Quote,
  rows: number,
  makers: readonly string[] | undefined,
): DepthBook {
  const level = (side: number, price: number, i: number): DepthLevel => {
    const r = new Random((seed * 2654435761) ^ c.conId ^ (side * 7919) ^ Math.round(price / c.minTick));
    return { price, size: r.int(1, 20) * 100, marketMaker: makers ? makers[(i + side) % makers.length]! : '' };
  };
  const bids: DepthLevel[] = [];
  const asks: DepthLevel[] = [];
  for (let i = 0; i < rows; i++) {
    bids.push(level(1, roundTo(q.bid - i * c.minTick, c.minTick), i));
    asks.push(level(0, roundTo(q.ask + i * c.minTick, c.minTick), i));
  }
  return { bids, asks };
}

/** Market makers for a venue: per-maker rows for L2 books, none for level-1 books. */
export function makersFor(venue: DepthExchange | 'SMART'): readonly string[] | undefined {
  if (venue === 'SMART') return SMART_VENUES;
  if (venue.serviceDataType !== 'Deep2') return undefined;
  return venue.exchange === 'ISLAND' ? ISLAND_MAKERS : [venue.exchange];
}
