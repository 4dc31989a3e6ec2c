import type { ContractDef } from './engine/catalogue.js';
import type { DepthBook } from './engine/depth.js';

/** One streaming market-data request of a connection. */
export interface MktDataSub {
  reqId: number;
  contract: ContractDef;
  /** 1 live, 2 frozen, 3 delayed, 4 delayed-frozen: the type in force when it was requested. */
  dataType: number;
  genericTicks: string;
}

/** A historical request with keepUpToDate: receives HISTORICAL_DATA_UPDATE for the forming bar. */
export interface HistoricalSub {
  reqId: number;
  contract: ContractDef;
  barSeconds: number;
  formatDate: number;
  daily: boolean;
  bar?: { time: number; open: number; high: number; low: number; close: number; volume: number; count: number };
}

/** One market-depth book of a connection: the rows last sent, so price moves go out as row updates. */
export interface DepthSub {
  reqId: number;
  contract: ContractDef;
  exchange: string;
  rows: number;
  isSmartDepth: boolean;
  /** MARKET_DEPTH_L2 (with market makers) rather than MARKET_DEPTH. */
  l2: boolean;
  book: DepthBook;
}

/** A 5-second real-time bar subscription; `bar` is the bar forming now. */
export interface RealTimeBarSub {
  reqId: number;
  contract: ContractDef;
  whatToShow: 'TRADES' | 'MIDPOINT' | 'BID' | 'ASK';
  /** Epoch seconds of the last bar sent. */
  lastTime: number;
  bar?: { open: number; high: number; low: number; close: number; volume: number; wapSum: number; count: number };
}

/** A live scanner subscription: its parameters are re-evaluated on every refresh. */
export interface ScannerSub {
  reqId: number;
  scanCode: string;
  instrument: string;
  locationCode: string;
  rows: number;
  abovePrice?: number;
  belowPrice?: number;
  aboveVolume?: number;
}

/** Kinds of subscription the control API counts and can drop. */
export type SubscriptionKind =
  | 'marketData'
  | 'depth'
  | 'realTimeBars'
  | 'scanners'
  | 'newsBulletins'
  | 'displayGroups'
  | 'historicalUpdates'
  | 'accountSummary'
  | 'accountUpdates'
  | 'positions'
  | 'pnl';

export const SUBSCRIPTION_KINDS: readonly SubscriptionKind[] = [
  'marketData',
  'depth',
  'realTimeBars',
  'scanners',
  'newsBulletins',
  'displayGroups',
  'historicalUpdates',
  'accountSummary',
  'accountUpdates',
  'positions',
  'pnl',
];

/** What IB drops on 1101 ("data lost"): every data subscription; display groups are TWS settings and stay. */
export const DATA_LOST_KINDS: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS.filter((k) => k !== 'displayGroups');

/** reqIds removed by a drop, per kind that holds a line or a depth book (so the caller can free them). */
export interface Dropped {
  marketData: number[];
  realTimeBars: number[];
  depth: number[];
}

/**
 * Everything one connection subscribed to. Keys are the client's reqIds, so a cancel from the client
 * finds its entry directly.
 */
export class Subscriptions {
  /** reqId → market data */
  readonly mktData = new Map<number, MktDataSub>();
  /** reqId → requested tags (comma list) */
  readonly accountSummary = new Map<number, string>();
  positions = false;
  /** Account whose updates (ACCT_VALUE, PORTFOLIO_VALUE …) are streamed, if any. */
  accountUpdates: string | undefined;
  /** reqId → account of a reqAccountUpdatesMulti (ACCOUNT_UPDATE_MULTI on every change) */
  readonly accountUpdatesMulti = new Map<number, string>();
  /** reqId → account ('' = all) of a reqPositionsMulti */
  readonly positionsMulti = new Map<number, string>();
  /** reqId → account */
  readonly pnl = new Map<number, string>();
  /** reqId → account and conId */
  readonly pnlSingle = new Map<number, { account: string; conId: number }>();
  /** reqId → keepUpToDate historical request */
  readonly historical = new Map<number, HistoricalSub>();
  /** reqId → depth book */
  readonly depth = new Map<number, DepthSub>();
  /** reqId → real-time bars */
  readonly realTimeBars = new Map<number, RealTimeBarSub>();
  /** reqId → scanner subscription */
  readonly scanners = new Map<number, ScannerSub>();
  /** REQ_NEWS_BULLETINS in force. */
  newsBulletins = false;
  /** reqId → display group id (SUBSCRIBE_TO_GROUP_EVENTS) */
  readonly displayGroups = new Map<number, number>();
  /** clientId 0 only: receive every client's order events (reqAutoOpenOrders(true)). */
  autoBind = false;
  /** Market data type set with REQ_MARKET_DATA_TYPE (1 live by default). */
  marketDataType = 1;

  /** Active subscriptions of one kind. */
  count(kind: SubscriptionKind): number {
    switch (kind) {
      case 'marketData':
        return this.mktData.size;
      case 'depth':
        return this.depth.size;
      case 'realTimeBars':
        return this.realTimeBars.size;
      case 'scanners':
        return this.scanners.size;
      case 'newsBulletins':
        return this.newsBulletins ? 1 : 0;
      case 'displayGroups':
        return this.displayGroups.size;
      case 'historicalUpdates':
        return this.historical.size;
      case 'accountSummary':
        return this.accountSummary.size;
      case 'accountUpdates':
        return (this.accountUpdates === undefined ? 0 : 1) + this.accountUpdatesMulti.size;
      case 'positions':
        return (this.positions ? 1 : 0) + this.positionsMulti.size;
      case 'pnl':
        return this.pnl.size + this.pnlSingle.size;
    }
  }

  /** Forgets the given kinds without telling the client (IB's silent loss); returns what held lines. */
  drop(kinds: readonly SubscriptionKind[]): Dropped {
    const out: Dropped = { marketData: [], realTimeBars: [], depth: [] };
    for (const kind of kinds) {
      switch (kind) {
        case 'marketData':
          out.marketData.push(...this.mktData.keys());
          this.mktData.clear();
          break;
        case 'depth':
          out.depth.push(...this.depth.keys());
          this.depth.clear();
          break;
        case 'realTimeBars':
          out.realTimeBars.push(...this.realTimeBars.keys());
          this.realTimeBars.clear();
          break;
        case 'scanners':
          this.scanners.clear();
          break;
        case 'newsBulletins':
          this.newsBulletins = false;
          break;
        case 'displayGroups':
          this.displayGroups.clear();
          break;
        case 'historicalUpdates':
          this.historical.clear();
          break;
        case 'accountSummary':
          this.accountSummary.clear();
          break;
        case 'accountUpdates':
          this.accountUpdates = undefined;
          this.accountUpdatesMulti.clear();
          break;
        case 'positions':
          this.positions = false;
          this.positionsMulti.clear();
          break;
        case 'pnl':
          this.pnl.clear();
          this.pnlSingle.clear();
          break;
      }
    }
    return out;
  }

  conIdsInUse(): number[] {
    return [
      ...this.mktData.values(),
      ...this.historical.values(),
      ...this.depth.values(),
      ...this.realTimeBars.values(),
    ].map((s) => s.contract.conId);
  }
}
