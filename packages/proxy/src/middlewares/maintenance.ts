import { MaintenanceWindowError, type MaintenanceSchedule } from '@ibrest/order-safety';
import type { Middleware } from '../context.js';
import type { ProxyMetrics } from '../metrics.js';

/**
 * IB's scheduled resets (daily, and the weekly restart that needs a fresh login): inside a window a request
 * that needs IB gets 503 `IB_MAINTENANCE_WINDOW` with `Retry-After` = seconds to the window's end, instead of
 * hanging at a worker whose IB connection is going away. Routes the manifest marks `maintenance: 'served'`
 * (mirror and journal reads, the proxy's own routes) pass. After the window, requests flow again by themselves.
 */
export function maintenance(schedule: MaintenanceSchedule, metrics: ProxyMetrics): Middleware {
  return async (ctx, next) => {
    if (ctx.route?.maintenance !== 'blocked') return next();
    const state = schedule.currentWindow();
    if (state.inWindow) {
      metrics.maintenanceRejections.inc();
      throw new MaintenanceWindowError(state);
    }
    await next();
  };
}
