import type { Middleware } from '../context.js';
import type { MarketDataBudgets } from '../budgets/market-data.js';
import { MarketDataBudgetError } from '../errors.js';
import type { ProxyMetrics } from '../metrics.js';

/**
 * Pool-wide market-data lines and depth books for stream requests on budgeted feeds (`route.budget`:
 * class and weight from the route manifest, weighed by the parser the worker subscribes with). The
 * stream holds its key's share from admission until its response closes (completed, refused downstream or
 * aborted: `close` fires for all of them), so a refusal further on never leaks a line.
 */
export function marketDataBudget(
  budgets: MarketDataBudgets,
  retryAfterSeconds: number,
  metrics: ProxyMetrics,
): Middleware {
  return async (ctx, next) => {
    const route = ctx.route;
    if (route?.budget === undefined || route.stickyKey === undefined) return next();
    const admission = budgets.admit(route.stickyKey, route.budget.class, route.budget.weight);
    if (!admission.ok) {
      metrics.budgetRejections.inc({ kind: admission.kind === 'lines' ? 'market_data_lines' : 'depth_books' });
      throw new MarketDataBudgetError(admission.kind, retryAfterSeconds, {
        budget: admission.budget,
        inUse: admission.inUse,
        needed: admission.needed,
      });
    }
    if (ctx.res.destroyed) {
      admission.release();
      return;
    }
    ctx.res.once('close', admission.release);
    await next();
  };
}
