import { CountedBudget } from '../ib/counted-budget.js';
import type { WorkerMetrics } from '../metrics.js';
import { MarketDepthBooksExhaustedError } from './errors.js';

/**
 * Market-depth books this worker holds, refused early against a budget (IB allows 3 at the default line
 * allowance, answering 309 beyond) so the caller gets a clear 429 before anything reaches IB.
 */
export class DepthBooks extends CountedBudget {
  constructor(budget: number, metrics?: WorkerMetrics) {
    super({
      budget,
      metrics,
      kind: 'market_depth_books',
      gauge: (m) => m.depthBooks,
      refuse: (b, inUse) =>
        new MarketDepthBooksExhaustedError(`All ${b} market-depth books of this worker are in use`, {
          inUse,
          budget: b,
        }),
    });
  }
}
