/**
 * Market-data lines of the account (IB default 100), shared by all clients: each streaming REQ_MKT_DATA
 * holds one line until cancelled, its client disconnects, or a 1101 drops it. Over the limit: error 101.
 */
export class MarketDataLines {
  /** `${connectionId}:${reqId}` → conId */
  private readonly held = new Map<string, number>();

  constructor(public max: number) {}

  tryAcquire(connectionId: number, reqId: number, conId: number): boolean {
    const k = `${connectionId}:${reqId}`;
    if (this.held.has(k)) return true;
    if (this.held.size >= this.max) return false;
    this.held.set(k, conId);
    return true;
  }

  release(connectionId: number, reqId: number): void {
    this.held.delete(`${connectionId}:${reqId}`);
  }

  releaseAll(connectionId: number): void {
    for (const k of [...this.held.keys()]) if (k.startsWith(`${connectionId}:`)) this.held.delete(k);
  }

  get inUse(): number {
    return this.held.size;
  }
}
