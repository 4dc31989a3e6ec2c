/** What holds a line: streaming market data and real-time bars both use one (IB counts both). */
export type LineKind = 'mkt' | 'rtb' | 'depth';

/**
 * Market-data lines of the account (IB default 100), shared by all clients: each streaming REQ_MKT_DATA and
 * each REQ_REAL_TIME_BARS holds one line until cancelled, its client disconnects, or a 1101 drops it. Over the
 * limit: error 101. The same class counts depth books (IB default 3, error 309) with its own budget.
 */
export class MarketDataLines {
  /** `${connectionId}:${kind}:${reqId}` → conId */
  private readonly held = new Map<string, number>();

  constructor(public max: number) {}

  tryAcquire(connectionId: number, reqId: number, conId: number, kind: LineKind = 'mkt'): boolean {
    const k = `${connectionId}:${kind}:${reqId}`;
    if (this.held.has(k)) return true;
    if (this.held.size >= this.max) return false;
    this.held.set(k, conId);
    return true;
  }

  release(connectionId: number, reqId: number, kind: LineKind = 'mkt'): void {
    this.held.delete(`${connectionId}:${kind}:${reqId}`);
  }

  releaseAll(connectionId: number): void {
    for (const k of [...this.held.keys()]) if (k.startsWith(`${connectionId}:`)) this.held.delete(k);
  }

  get inUse(): number {
    return this.held.size;
  }

  /** Lines held by one kind (market data vs real-time bars). */
  count(kind: LineKind): number {
    let n = 0;
    for (const k of this.held.keys()) if (k.split(':')[1] === kind) n++;
    return n;
  }
}
