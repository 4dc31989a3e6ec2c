import { ROUTES, type RouteEntry } from '@ibrest/contract';
import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { RouteDef } from '../http/route.js';
import type { WorkerMetrics } from '../metrics.js';
import type { IdempotentOrders } from './idempotency.js';

/** The worker's entries of the route manifest, by operationId. */
const MANIFEST = new Map(ROUTES.filter((r) => r.owner === 'worker').map((r) => [r.id, r]));

/** The manifest entry of a route of the table; a route without one is a programming error caught at start. */
export function manifestEntry(route: Pick<RouteDef, 'operationId' | 'method' | 'path'>): RouteEntry {
  const entry = MANIFEST.get(route.operationId);
  if (entry === undefined || entry.method !== route.method.toUpperCase() || entry.path !== route.path) {
    throw new Error(`route ${route.method.toUpperCase()} ${route.path} (${route.operationId}) does not match the route manifest`);
  }
  return entry;
}

/**
 * Wraps the route table, in this order (outermost first): maintenance window (so a request in a window
 * never claims an idempotency key) → idempotency (order writes only) → the route. Applied once, where the
 * table is built. Which routes get which guard is read from the route manifest (@ibrest/contract):
 * `maintenance: 'blocked'` and `idempotent: true`; the proxy reads the same fields.
 */
export function guardRoutes(routes: RouteDef[], o: { schedule: MaintenanceSchedule; idempotent: IdempotentOrders; metrics?: WorkerMetrics }): RouteDef[] {
  const inWindow = (): boolean => {
    const s = o.schedule.currentWindow();
    o.metrics?.maintenanceWindow.set(s.inWindow ? 1 : 0);
    return s.inWindow;
  };
  return routes.map((route) => {
    const entry = manifestEntry(route);
    let r = entry.idempotent === true ? o.idempotent.wrap(route) : route;
    if (entry.maintenance === 'blocked') {
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
