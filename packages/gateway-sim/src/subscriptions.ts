import type { ContractDef } from './engine/catalogue.js';

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
  /** reqId → account */
  readonly pnl = new Map<number, string>();
  /** reqId → account and conId */
  readonly pnlSingle = new Map<number, { account: string; conId: number }>();
  /** reqId → keepUpToDate historical request */
  readonly historical = new Map<number, HistoricalSub>();
  /** clientId 0 only: receive every client's order events (reqAutoOpenOrders(true)). */
  autoBind = false;
  /** Market data type set with REQ_MARKET_DATA_TYPE (1 live by default). */
  marketDataType = 1;

  /** What IB drops on 1101 ("data lost"): market data and account data subscriptions. */
  dropDataSubscriptions(): number[] {
    const reqIds = [...this.mktData.keys()];
    this.mktData.clear();
    this.historical.clear();
    this.accountSummary.clear();
    this.pnl.clear();
    this.pnlSingle.clear();
    this.positions = false;
    this.accountUpdates = undefined;
    return reqIds;
  }

  conIdsInUse(): number[] {
    return [...this.mktData.values(), ...this.historical.values()].map((s) => s.contract.conId);
  }
}
