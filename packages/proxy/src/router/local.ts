import type { RequestContext } from '../context.js';
import { MethodNotAllowedError, ProxyNotReadyError, RouteNotFoundError } from '../errors.js';
import { sendError, sendJson } from '../http/respond.js';
import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { Pool } from '../balancer/pool.js';
import type { MarketDataBudgets } from '../budgets/market-data.js';
import type { OpenHistoricalRequests } from '../pacing/historical.js';
import type { ProxyMetrics } from '../metrics.js';

/**
 * Routes the proxy answers itself (the manifest's `owner: 'proxy'` entries): its own health, the pool view,
 * metrics and its OpenAPI document; and the refusals for paths the manifest does not know (404) or methods a
 * path does not allow (405 with `Allow`).
 */
export function createLocalRoutes(
  pool: Pool,
  metrics: ProxyMetrics,
  budgets: MarketDataBudgets,
  schedule: MaintenanceSchedule | undefined,
  openapi: unknown,
  openHistorical?: OpenHistoricalRequests,
): (ctx: RequestContext) => Promise<void> {
  const maintenanceView = (): Record<string, unknown> => {
    if (schedule === undefined) return { configured: false, inWindow: false };
    const s = schedule.currentWindow();
    return s.inWindow
      ? {
          configured: true,
          inWindow: true,
          window: s.window,
          startedAt: s.startedAt.toISOString(),
          endsAt: s.endsAt.toISOString(),
        }
      : {
          configured: true,
          inWindow: false,
          ...(s.nextStartsAt === undefined ? {} : { nextStartsAt: s.nextStartsAt.toISOString() }),
        };
  };
  return async (ctx) => {
    const { res } = ctx;
    const method = ctx.req.method ?? 'GET';
    switch (ctx.route?.name) {
      case 'method-not-allowed':
        throw new MethodNotAllowedError(method, ctx.routePath, ctx.route.allow ?? []);
      case 'proxyOpenApi':
        return sendJson(res, 200, openapi);
      case 'proxyLive':
        return sendJson(res, 200, { status: 'ok' });
      case 'proxyReady': {
        const r = pool.readiness();
        if (!r.ready) return sendError(res, new ProxyNotReadyError(r));
        return sendJson(res, 200, { status: 'ready', ...r });
      }
      case 'listClients':
        return sendJson(res, 200, {
          ready: pool.readiness().ready,
          clients: pool.all().map((w) => ({
            clientId: w.clientId,
            name: w.name,
            url: w.url.origin,
            up: w.up,
            state: w.state,
            capabilities: [...w.capabilities].sort(),
            ibClientId: w.ibClientId,
            lease: w.lease,
            code: w.code,
            inFlight: w.inFlight,
            lastError: w.lastError,
            since: w.since,
            role: w.clientId === 0 ? 'orders' : 'reads',
          })),
          budgets: {
            marketDataLines: { ...budgets.use('lines'), streams: budgets.streams('lines') },
            depthBooks: { ...budgets.use('depth'), streams: budgets.streams('depth') },
            ...(openHistorical === undefined
              ? {}
              : { historicalOpen: { used: openHistorical.inUse, limit: openHistorical.limit } }),
          },
          maintenance: maintenanceView(),
        });
      case 'proxyMetrics': {
        const text = await metrics.registries.render();
        res.writeHead(200, { 'content-type': metrics.registries.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      default:
        throw new RouteNotFoundError(`${method} ${ctx.routePath}`);
    }
  };
}
