import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { RouteDef } from '../http/route.js';
import type { WorkerMetrics } from '../metrics.js';
import type { IdempotentOrders } from './idempotency.js';

/** The order writes that accept Idempotency-Key. */
const IDEMPOTENT_ROUTES = new Set(['placeOrder', 'modifyOrder', 'cancelOrder', 'cancelOrderSeed']);

/**
 * Routes answered from the live mirror without sending anything to IB: served during a maintenance
 * window (with whatever the mirror last saw), while everything that needs IB gets 503 + Retry-After.
 */
const MIRROR_READS = new Set(['listOrders', 'getOrder', 'getAccountUpdates', 'getPositions', 'listExecutions']);

/**
 * Wraps the route table, in this order (outermost first): maintenance window (so a request in a window
 * never claims an idempotency key) → idempotency (order writes only) → the route. Applied once, where the
 * table is built, so feeds and other routes added later get the window check without knowing about it.
 */
export function guardRoutes(routes: RouteDef[], o: { schedule: MaintenanceSchedule; idempotent: IdempotentOrders; metrics?: WorkerMetrics }): RouteDef[] {
  const inWindow = (): boolean => {
    const s = o.schedule.currentWindow();
    o.metrics?.maintenanceWindow.set(s.inWindow ? 1 : 0);
    return s.inWindow;
  };
  return routes.map((route) => {
    let r = IDEMPOTENT_ROUTES.has(route.operationId) ? o.idempotent.wrap(route) : route;
    if (route.usesIb && !MIRROR_READS.has(route.operationId)) {
      const inner = r;
      r = {
        ...inner,
        errors: { ...inner.errors, 503: [...(inner.errors[503] ?? []), 'IB_MAINTENANCE_WINDOW'] },
        handle: (ctx) => {
          if (inWindow()) o.schedule.assertAvailable();
          return inner.handle(ctx);
        },
      };
    }
    return r;
  });
}

/** Keeps `ibworker_maintenance_window` current between requests; returns the stop function. */
export function watchMaintenance(schedule: MaintenanceSchedule, metrics: WorkerMetrics, everyMs = 30_000): () => void {
  const tick = () => metrics.maintenanceWindow.set(schedule.currentWindow().inWindow ? 1 : 0);
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
