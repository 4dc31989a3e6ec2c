import { ibDate } from './clock.js';

/** One tradable instrument as the simulator knows it. */
export interface ContractDef {
  conId: number;
  symbol: string;
  secType: 'STK' | 'OPT' | 'FUT' | 'CASH';
  /** Routing exchange reported in contract details (SMART for stocks). */
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
  /** "yyyyMMdd" for options and futures, "" otherwise. */
  lastTradeDate: string;
  strike: number;
  right: '' | 'C' | 'P';
  multiplier: string;
  longName: string;
  minTick: number;
  industry: string;
  category: string;
  subcategory: string;
  timeZoneId: string;
  stockType: string;
  underConId: number;
  underSymbol: string;
  underSecType: string;
  validExchanges: string;
  orderTypes: string;
  marketRuleIds: string;
  isin?: string;
  /** Starting price of the seeded walk. */
  basePrice: number;
  /** Days of history before "now" the head timestamp reports. */
  historyYears: number;
}

const ORDER_TYPES =
  'ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,GAT,GTC,GTD,GTT,HID,IOC,' +
  'LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,PEGBENCH,SCALE,SCALERST,STP,STPLMT,TRAIL,WHATIF';

interface StockSeed {
  conId: number;
  symbol: string;
  primaryExch: string;
  longName: string;
  industry: string;
  category: string;
  subcategory: string;
  isin: string;
  price: number;
  stockType?: string;
}

/** Real IB conIds, so logs and fixtures look like the real thing. */
const STOCKS: StockSeed[] = [
  {
    conId: 265598,
    symbol: 'AAPL',
    primaryExch: 'NASDAQ',
    longName: 'APPLE INC',
    industry: 'Technology',
    category: 'Computers',
    subcategory: 'Computers',
    isin: 'US0378331005',
    price: 190.5,
  },
  {
    conId: 272093,
    symbol: 'MSFT',
    primaryExch: 'NASDAQ',
    longName: 'MICROSOFT CORP',
    industry: 'Technology',
    category: 'Software',
    subcategory: 'Applications Software',
    isin: 'US5949181045',
    price: 410.25,
  },
  {
    conId: 756733,
    symbol: 'SPY',
    primaryExch: 'ARCA',
    longName: 'SPDR S&P 500 ETF TRUST',
    industry: 'Funds',
    category: 'Equity Fund',
    subcategory: 'Growth&Income-Large Cap',
    isin: 'US78462F1030',
    price: 520.1,
    stockType: 'ETF',
  },
  {
    conId: 76792991,
    symbol: 'TSLA',
    primaryExch: 'NASDAQ',
    longName: 'TESLA INC',
    industry: 'Consumer, Cyclical',
    category: 'Auto Manufacturers',
    subcategory: 'Auto-Cars/Light Trucks',
    isin: 'US88160R1014',
    price: 245.8,
  },
  {
    conId: 8314,
    symbol: 'IBM',
    primaryExch: 'NYSE',
    longName: 'INTL BUSINESS MACHINES CORP',
    industry: 'Technology',
    category: 'Computers',
    subcategory: 'Computer Services',
    isin: 'US4592001014',
    price: 182.4,
  },
  {
    conId: 3691937,
    symbol: 'AMZN',
    primaryExch: 'NASDAQ',
    longName: 'AMAZON.COM INC',
    industry: 'Communications',
    category: 'Internet',
    subcategory: 'E-Commerce/Products',
    isin: 'US0231351067',
    price: 178.9,
  },
];

function stock(s: StockSeed): ContractDef {
  return {
    conId: s.conId,
    symbol: s.symbol,
    secType: 'STK',
    exchange: 'SMART',
    primaryExch: s.primaryExch,
    currency: 'USD',
    localSymbol: s.symbol,
    tradingClass: s.primaryExch === 'NASDAQ' ? 'NMS' : s.symbol,
    lastTradeDate: '',
    strike: 0,
    right: '',
    multiplier: '',
    longName: s.longName,
    minTick: 0.01,
    industry: s.industry,
    category: s.category,
    subcategory: s.subcategory,
    timeZoneId: 'US/Eastern',
    stockType: s.stockType ?? 'COMMON',
    underConId: 0,
    underSymbol: '',
    underSecType: '',
    validExchanges: `SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,IEX,${s.primaryExch}`,
    orderTypes: ORDER_TYPES,
    marketRuleIds: '26,26,26,26,26,26,26,26,26,26,26,26,26,26,26',
    isin: s.isin,
    basePrice: s.price,
    historyYears: 30,
  };
}

/** Third Friday of the month `monthsAhead` after the clock's month (IB equity options and ES expiries). */
function thirdFriday(nowMs: number, monthsAhead: number): number {
  const d = new Date(nowMs);
  const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + monthsAhead, 1);
  const dow = new Date(first).getUTCDay();
  const firstFriday = 1 + ((5 - dow + 7) % 7);
  return Date.UTC(new Date(first).getUTCFullYear(), new Date(first).getUTCMonth(), firstFriday + 14);
}

const FUT_MONTH_CODES = 'FGHJKMNQUVXZ';

/**
 * The instrument set: six US stocks, an AAPL option chain (two expiries, 11 strikes, calls and puts),
 * the next four quarterly E-mini S&P futures (the chain a partial contract lists) and EUR.USD. Expiries
 * are derived from the clock so they are always in the future.
 */
export function buildCatalogue(nowMs: number): ContractDef[] {
  const out = STOCKS.map(stock);
  const aapl = out[0]!;
  let optConId = 700000001;
  for (const monthsAhead of [1, 2]) {
    const exp = ibDate(thirdFriday(nowMs, monthsAhead));
    for (let strike = 165; strike <= 215; strike += 5) {
      for (const right of ['C', 'P'] as const) {
        const yymmdd = exp.slice(2);
        out.push({
          ...aapl,
          conId: optConId++,
          secType: 'OPT',
          localSymbol: `AAPL  ${yymmdd}${right}${String(strike * 1000).padStart(8, '0')}`,
          tradingClass: 'AAPL',
          lastTradeDate: exp,
          strike,
          right,
          multiplier: '100',
          longName: 'APPLE INC',
          minTick: 0.01,
          stockType: '',
          underConId: aapl.conId,
          underSymbol: 'AAPL',
          underSecType: 'STK',
          validExchanges: 'SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,MIAX,EMERALD,PEARL,MEMX',
          isin: undefined,
          basePrice: Math.max(0.05, right === 'C' ? aapl.basePrice - strike + 4 : strike - aapl.basePrice + 4),
          historyYears: 1,
        });
      }
    }
  }
  // The ES chain: the next four quarterly contracts (Mar/Jun/Sep/Dec), the front one first.
  const now = new Date(nowMs);
  let monthsAhead = 0;
  while ((now.getUTCMonth() + monthsAhead) % 3 !== 2 || thirdFriday(nowMs, monthsAhead) <= nowMs) monthsAhead++;
  for (let q = 0; q < 4; q++) {
    const esExpiry = thirdFriday(nowMs, monthsAhead + 3 * q);
    const esDate = new Date(esExpiry);
    out.push({
      conId: q === 0 ? 495512563 : 495512563 + 1000 * q,
      symbol: 'ES',
      secType: 'FUT',
      exchange: 'CME',
      primaryExch: '',
      currency: 'USD',
      localSymbol: `ES${FUT_MONTH_CODES[esDate.getUTCMonth()]}${esDate.getUTCFullYear() % 10}`,
      tradingClass: 'ES',
      lastTradeDate: ibDate(esExpiry),
      strike: 0,
      right: '',
      multiplier: '50',
      longName: 'E-mini S&P 500',
      minTick: 0.25,
      industry: '',
      category: '',
      subcategory: '',
      timeZoneId: 'US/Central',
      stockType: '',
      underConId: 11004968,
      underSymbol: 'ES',
      underSecType: 'IND',
      validExchanges: 'CME,QBALGO',
      orderTypes: ORDER_TYPES,
      marketRuleIds: '67',
      basePrice: 5225.25 + 30 * q,
      historyYears: 1,
    });
  }
  out.push({
    conId: 12087792,
    symbol: 'EUR',
    secType: 'CASH',
    exchange: 'IDEALPRO',
    primaryExch: '',
    currency: 'USD',
    localSymbol: 'EUR.USD',
    tradingClass: 'EUR.USD',
    lastTradeDate: '',
    strike: 0,
    right: '',
    multiplier: '',
    longName: 'European Monetary Union Euro',
    minTick: 0.00005,
    industry: '',
    category: '',
    subcategory: '',
    timeZoneId: 'US/Eastern',
    stockType: '',
    underConId: 0,
    underSymbol: '',
    underSecType: '',
    validExchanges: 'IDEALPRO',
    orderTypes: ORDER_TYPES,
    marketRuleIds: '239',
    basePrice: 1.0845,
    historyYears: 20,
  });
  return out;
}

/** What a request asks for; every field optional, as clients send partial contracts. */
export interface ContractQuery {
  conId?: number;
  symbol?: string;
  secType?: string;
  lastTradeDateOrContractMonth?: string;
  strike?: number;
  right?: string;
  multiplier?: string;
  exchange?: string;
  primaryExch?: string;
  currency?: string;
  localSymbol?: string;
  tradingClass?: string;
}

function normRight(r: string | undefined): string {
  const u = (r ?? '').toUpperCase();
  if (u === 'CALL') return 'C';
  if (u === 'PUT') return 'P';
  return u === '?' ? '' : u;
}

/** The catalogue with IB-like lookup: conId wins; otherwise every given field must match. */
export class Catalogue {
  private readonly byId = new Map<number, ContractDef>();

  constructor(readonly all: readonly ContractDef[]) {
    for (const c of all) this.byId.set(c.conId, c);
  }

  byConId(conId: number): ContractDef | undefined {
    return this.byId.get(conId);
  }

  /** Stock (or the given secType) by symbol, for the control API. */
  bySymbol(symbol: string, secType = 'STK'): ContractDef | undefined {
    const s = symbol.toUpperCase();
    return this.all.find((c) => c.secType === secType && (c.symbol === s || c.localSymbol === s));
  }

  find(q: ContractQuery): ContractDef[] {
    if (q.conId) {
      const c = this.byId.get(q.conId);
      return c ? [c] : [];
    }
    const sym = (q.symbol ?? '').toUpperCase();
    const local = (q.localSymbol ?? '').toUpperCase();
    if (!sym && !local) return [];
    const secType = (q.secType ?? '').toUpperCase();
    const right = normRight(q.right);
    const ltd = q.lastTradeDateOrContractMonth ?? '';
    return this.all.filter((c) => {
      if (sym && c.symbol !== sym) return false;
      if (local && c.localSymbol.toUpperCase() !== local) return false;
      if (secType && c.secType !== secType) return false;
      if (!secType && c.secType !== 'STK' && !local) return false;
      if (q.currency && c.currency !== q.currency.toUpperCase()) return false;
      if (ltd && !c.lastTradeDate.startsWith(ltd)) return false;
      if (q.strike && c.strike !== q.strike) return false;
      if (right && c.right !== right) return false;
      if (q.tradingClass && c.tradingClass !== q.tradingClass) return false;
      return true;
    });
  }

  /** Symbol search for REQ_MATCHING_SYMBOLS: underlyings whose symbol or name starts with the pattern. */
  search(pattern: string): ContractDef[] {
    const p = pattern.trim().toUpperCase();
    if (!p) return [];
    return this.all.filter(
      (c) =>
        (c.secType === 'STK' || c.secType === 'CASH' || c.secType === 'FUT') &&
        (c.symbol.startsWith(p) || c.longName.toUpperCase().startsWith(p) || c.localSymbol.toUpperCase().startsWith(p)),
    );
  }

  optionsOf(underConId: number): ContractDef[] {
    return this.all.filter((c) => c.secType === 'OPT' && c.underConId === underConId);
  }
}
