import type { Catalogue, ContractDef } from './catalogue.js';
import type { Market, Quote } from './market.js';
import { xmlEscape } from './fa-config.js';

/** Scan codes the simulator ranks by, with TWS's display names. */
export const SCAN_TYPES: ReadonlyArray<{ code: string; name: string }> = [
  { code: 'TOP_PERC_GAIN', name: 'Top % Gainers' },
  { code: 'TOP_PERC_LOSE', name: 'Top % Losers' },
  { code: 'MOST_ACTIVE', name: 'Most Active' },
  { code: 'HOT_BY_VOLUME', name: 'Hot Contracts by Volume' },
  { code: 'HOT_BY_PRICE', name: 'Hot Contracts by Price' },
  { code: 'ALL_SYMBOLS_ASC', name: 'All Symbols (A-Z)' },
  { code: 'ALL_SYMBOLS_DESC', name: 'All Symbols (Z-A)' },
];

/** Location codes and the primary exchanges they cover (undefined = every US stock). */
export const LOCATIONS: ReadonlyArray<{ code: string; name: string; primaryExch?: string }> = [
  { code: 'STK.US', name: 'US Stocks' },
  { code: 'STK.US.MAJOR', name: 'Listed/NASDAQ' },
  { code: 'STK.NASDAQ', name: 'NASDAQ', primaryExch: 'NASDAQ' },
  { code: 'STK.NYSE', name: 'NYSE', primaryExch: 'NYSE' },
  { code: 'STK.ARCA', name: 'NYSE Arca', primaryExch: 'ARCA' },
];

export const INSTRUMENTS = ['STK'] as const;

/** The SCANNER_PARAMETERS document: instruments, location tree, scan types and filters, as TWS structures it. */
export function scannerParametersXml(): string {
  const scanTypes = SCAN_TYPES.map(
    (t) =>
      `<ScanType><displayName>${xmlEscape(t.name)}</displayName><scanCode>${t.code}</scanCode>` +
      '<instruments>STK</instruments>' +
      `<absoluteColumns>false</absoluteColumns><Columns varName="columns"/></ScanType>`,
  ).join('');
  const locations = LOCATIONS.slice(1)
    .map(
      (l) =>
        `<Location><displayName>${xmlEscape(l.name)}</displayName><locationCode>${l.code}</locationCode>` +
        '<instruments>STK</instruments>' +
        `<routeExchange>SMART</routeExchange></Location>`,
    )
    .join('');
  const filter = (id: string, category: string, code: string, name: string): string =>
    `<RangeFilter><id>${id}</id><category>${category}</category><histogram>false</histogram>` +
    `<AbstractField type="scanner.filter.DoubleField"><code>${code}Above</code>` +
    `<displayName>${xmlEscape(name)} above</displayName></AbstractField>` +
    `<AbstractField type="scanner.filter.DoubleField"><code>${code}Below</code>` +
    `<displayName>${xmlEscape(name)} below</displayName></AbstractField></RangeFilter>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?><ScanParameterResponse>' +
    '<InstrumentList varName="instrumentList"><Instrument><name>US Stocks</name><type>STK</type>' +
    '<filters>PRICE,VOLUME,CHANGEPERC</filters><group>STK.GLOBAL</group><shortName>US</shortName></Instrument>' +
    '</InstrumentList>' +
    '<LocationTree varName="locationTree"><Location><displayName>US Stocks</displayName>' +
    '<locationCode>STK.US</locationCode><instruments>STK</instruments>' +
    `<LocationTree varName="locationTree">${locations}</LocationTree></Location></LocationTree>` +
    `<ScanTypeList varName="scanTypeList">${scanTypes}</ScanTypeList>` +
    `<FilterList varName="filterList">${filter('PRICE', 'Price', 'price', 'Price')}` +
    `${filter('VOLUME', 'Volume', 'volume', 'Volume')}` +
    `${filter('CHANGEPERC', 'Price Change', 'changePerc', 'Change %')}</FilterList></ScanParameterResponse>`
  );
}

export interface ScanQuery {
  scanCode: string;
  locationCode: string;
  rows: number;
  abovePrice?: number;
  belowPrice?: number;
  aboveVolume?: number;
}

const changeOf = (q: Quote): number => (q.close > 0 ? (q.last - q.close) / q.close : 0);

/** Ranks the catalogue's stocks for one scan from the live quotes; index in the result = rank. */
export function runScan(catalogue: Catalogue, market: Market, query: ScanQuery): ContractDef[] {
  const loc = LOCATIONS.find((l) => l.code === query.locationCode.toUpperCase());
  const rows = catalogue.all
    .filter((c) => c.secType === 'STK' && (!loc?.primaryExch || c.primaryExch === loc.primaryExch))
    .map((c) => ({ c, q: market.quote(c.conId)! }))
    .filter(
      ({ q }) =>
        (query.abovePrice === undefined || q.last > query.abovePrice) &&
        (query.belowPrice === undefined || q.last < query.belowPrice) &&
        (query.aboveVolume === undefined || q.volume > query.aboveVolume),
    );
  const by: Record<string, (a: (typeof rows)[0], b: (typeof rows)[0]) => number> = {
    TOP_PERC_GAIN: (a, b) => changeOf(b.q) - changeOf(a.q),
    TOP_PERC_LOSE: (a, b) => changeOf(a.q) - changeOf(b.q),
    MOST_ACTIVE: (a, b) => b.q.volume - a.q.volume,
    HOT_BY_VOLUME: (a, b) => b.q.lastSize * b.q.last - a.q.lastSize * a.q.last,
    HOT_BY_PRICE: (a, b) => Math.abs(changeOf(b.q)) - Math.abs(changeOf(a.q)),
    ALL_SYMBOLS_ASC: (a, b) => a.c.symbol.localeCompare(b.c.symbol),
    ALL_SYMBOLS_DESC: (a, b) => b.c.symbol.localeCompare(a.c.symbol),
  };
  const cmp = by[query.scanCode.toUpperCase()] ?? by.ALL_SYMBOLS_ASC!;
  return rows
    .sort((a, b) => cmp(a, b) || a.c.conId - b.c.conId)
    .slice(0, query.rows)
    .map((r) => r.c);
}
