import { MarketDataLinesExhaustedError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';
import { CountedBudget } from './counted-budget.js';

/**
 * Market-data lines this worker holds (snapshots while pending, streaming subscriptions while live),
 * refused early against a budget instead of letting IB answer 101.
 */
export class MarketDataLines extends CountedBudget {
  constructor(budget: number, metrics?: WorkerMetrics) {
    super({
      budget,
      metrics,
      kind: 'market_data_lines',
      gauge: (m) => m.marketDataLines,
      refuse: (b, inUse) =>
        new MarketDataLinesExhaustedError(`All ${b} market-data lines of this worker are in use`, { inUse, budget: b }),
    });
  }
}
