import type { WorkerMetrics } from '../metrics.js';
import { MarketDepthBooksExhaustedError } from './errors.js';

/**
 * Market-depth books this worker holds, refused early against a budget (IB allows 3 at the default line
 * allowance, answering 309 beyond) so the caller gets a clear 429 before anything reaches IB.
 */
export class DepthBooks {
  private inUse = 0;

  constructor(
    private readonly budget: number,
    private readonly metrics?: WorkerMetrics,
  ) {}

  get used(): number {
    return this.inUse;
  }

  acquire(books = 1): () => void {
    if (books === 0) return () => undefined;
    if (this.inUse + books > this.budget) {
      this.metrics?.pacingRejections.inc({ kind: 'market_depth_books' });
      throw new MarketDepthBooksExhaustedError(`All ${this.budget} market-depth books of this worker are in use`, { inUse: this.inUse, budget: this.budget });
    }
    this.inUse += books;
    this.metrics?.depthBooks.set(this.inUse);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= books;
      this.metrics?.depthBooks.set(this.inUse);
    };
  }
}
