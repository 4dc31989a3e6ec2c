import { MarketDataLinesExhaustedError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';

/**
 * Market-data lines this worker holds (snapshots while pending, streaming subscriptions while live),
 * refused early against a budget instead of letting IB answer 101.
 */
export class MarketDataLines {
  private inUse = 0;

  constructor(
    private readonly budget: number,
    private readonly metrics?: WorkerMetrics,
  ) {}

  get used(): number {
    return this.inUse;
  }

  acquire(lines = 1): () => void {
    if (this.inUse + lines > this.budget) {
      this.metrics?.pacingRejections.inc({ kind: 'market_data_lines' });
      throw new MarketDataLinesExhaustedError(`All ${this.budget} market-data lines of this worker are in use`, {
        inUse: this.inUse,
        budget: this.budget,
      });
    }
    this.inUse += lines;
    this.metrics?.marketDataLines.set(this.inUse);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= lines;
      this.metrics?.marketDataLines.set(this.inUse);
    };
  }
}
