import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { RouteDef } from '../http/route.js';
import type { WorkerMetrics } from '../metrics.js';

/** The order writes: their maintenance check is the first step of the order pipeline (orders/pipeline.ts). */
export const ORDER_WRITES = new Set([
  'placeOrder', 'modifyOrder', 'cancelOrder', 'cancelOrderSeed', 'modifyOrderByPermId', 'cancelOrderByPermId',
]);

/**
 * Routes answered from the live mirror without sending anything to IB: served during a maintenance
 * window (with whatever the mirror last saw), while everything that needs IB gets 503 + Retry-After.
 */
const MIRROR_READS = new Set([
  'listOrders', 'getOrder', 'getOrderByPermId', 'getAccountUpdates', 'getPositions', 'listExecutions',
]);

/**
 * Wraps every other route that needs IB with the maintenance-window check. Applied once, where the table
 * is built, so feeds and other routes added later get the window check without knowing about it.
 */
export function guardRoutes(
  routes: RouteDef[],
  o: { schedule: MaintenanceSchedule; metrics?: WorkerMetrics },
): RouteDef[] {
  const inWindow = (): boolean => {
    const s = o.schedule.currentWindow();
    o.metrics?.maintenanceWindow.set(s.inWindow ? 1 : 0);
    return s.inWindow;
  };
  return routes.map((route) => {
    if (!route.usesIb || MIRROR_READS.has(route.operationId)) return route;
    const errors = { ...route.errors, 503: [...(route.errors[503] ?? []), 'IB_MAINTENANCE_WINDOW'] };
    if (ORDER_WRITES.has(route.operationId)) return { ...route, errors };
    return {
      ...route,
      errors,
      handle: (ctx) => {
        if (inWindow()) o.schedule.assertAvailable();
        return route.handle(ctx);
      },
    };
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
