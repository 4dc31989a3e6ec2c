/** One level of a depth book. */
export interface DepthLevel {
  price: number;
  size: number;
  /** Market maker / exchange of the level (L2 and SMART depth only). */
  marketMaker?: string;
}

/** One updateMktDepth / updateMktDepthL2 message. */
export interface DepthUpdate {
  position: number;
  /** IB: 0 insert, 1 update, 2 delete. */
  operation: number;
  /** IB: 0 ask, 1 bid. */
  side: number;
  price: number;
  size: number;
  marketMaker?: string;
}

/**
 * A level-2 book rebuilt from IB's positional updates: insert shifts the rows below down, delete shifts
 * them up, update replaces in place. Rows beyond `numRows` are dropped as IB does. After 317 (book reset)
 * or a resubscription the book is cleared and rebuilt from the next inserts.
 */
export class DepthBook {
  private bids: DepthLevel[] = [];
  private asks: DepthLevel[] = [];

  constructor(private readonly numRows: number) {}

  apply(u: DepthUpdate): void {
    const rows = u.side === 1 ? this.bids : this.asks;
    const level: DepthLevel = {
      price: u.price,
      size: u.size,
      ...(u.marketMaker ? { marketMaker: u.marketMaker } : {}),
    };
    const at = Math.max(0, Math.min(u.position, rows.length));
    switch (u.operation) {
      case 0:
        rows.splice(at, 0, level);
        if (rows.length > this.numRows) rows.length = this.numRows;
        break;
      case 1:
        if (u.position < rows.length) rows[u.position] = level;
        else rows.splice(at, 0, level);
        break;
      case 2:
        if (u.position < rows.length) rows.splice(u.position, 1);
        break;
    }
  }

  clear(): void {
    this.bids = [];
    this.asks = [];
  }

  /** Bids by falling price, asks by rising price, and the best bid below the best ask. */
  get consistent(): boolean {
    for (let i = 1; i < this.bids.length; i++) if (this.bids[i]!.price > this.bids[i - 1]!.price) return false;
    for (let i = 1; i < this.asks.length; i++) if (this.asks[i]!.price < this.asks[i - 1]!.price) return false;
    return !this.crossed;
  }

  /** The best bid at or above the best ask (crossed, or locked at one price). */
  get crossed(): boolean {
    const bid = this.bids[0]?.price;
    const ask = this.asks[0]?.price;
    return bid !== undefined && ask !== undefined && bid >= ask;
  }

  /** Both sides hold the rows asked for. */
  get complete(): boolean {
    return this.bids.length >= this.numRows && this.asks.length >= this.numRows;
  }

  /**
   * The book as callers see it: sorted (bids falling, asks rising; stable, so a price's market makers keep
   * IB's order), `complete` when both sides have the rows asked for, `crossed` (best bid at or above the best
   * ask: crossed or locked) only when IB's own data is.
   */
  toJSON(): { bids: DepthLevel[]; asks: DepthLevel[]; rows: number; complete: boolean; crossed: boolean } {
    const bids = this.bids.map((l) => ({ ...l })).sort((a, b) => b.price - a.price);
    const asks = this.asks.map((l) => ({ ...l })).sort((a, b) => a.price - b.price);
    const crossed = bids[0] !== undefined && asks[0] !== undefined && bids[0].price >= asks[0].price;
    return { bids, asks, rows: this.numRows, complete: this.complete, crossed };
  }
}
