import { ROUTES, type RouteEntry } from '@ibrest/contract';
import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { RouteDef } from '../http/route.js';
import type { WorkerMetrics } from '../metrics.js';

/** The worker's entries of the route manifest, by operationId. */
const MANIFEST = new Map(ROUTES.filter((r) => r.owner === 'worker').map((r) => [r.id, r]));

/** The manifest entry of a route of the table; a route without one is a programming error caught at start. */
export function manifestEntry(route: Pick<RouteDef, 'operationId' | 'method' | 'path'>): RouteEntry {
  const entry = MANIFEST.get(route.operationId);
  if (entry === undefined || entry.method !== route.method.toUpperCase() || entry.path !== route.path) {
    const name = `${route.method.toUpperCase()} ${route.path} (${route.operationId})`;
    throw new Error(`route ${name} does not match the route manifest`);
  }
  return entry;
}

/**
 * Wraps every route the manifest marks `maintenance: 'blocked'` with the maintenance-window check, except
 * the order writes (`idempotent: true`): their window check is the first step of the order pipeline
 * (orders/pipeline.ts), before any Idempotency-Key is claimed. Applied once, where the table is built; the
 * proxy reads the same manifest fields.
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
    const entry = manifestEntry(route);
    if (entry.maintenance !== 'blocked') return route;
    const errors = { ...route.errors, 503: [...(route.errors[503] ?? []), 'IB_MAINTENANCE_WINDOW'] };
    if (entry.idempotent === true) return { ...route, errors };
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
