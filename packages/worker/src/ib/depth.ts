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
    const level: DepthLevel = { price: u.price, size: u.size, ...(u.marketMaker ? { marketMaker: u.marketMaker } : {}) };
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

  toJSON(): { bids: DepthLevel[]; asks: DepthLevel[] } {
    return { bids: this.bids.map((l) => ({ ...l })), asks: this.asks.map((l) => ({ ...l })) };
  }
}
