import type { Middleware } from '../context.js';
import { methodLabel, type ProxyMetrics } from '../metrics.js';

/**
 * Access log and request metrics, both recorded on the response's `close` event: it fires for completed
 * answers and for aborts alike (`finish` never fires on an abort, which would leak gauges and lose log lines).
 * A client that left before any header was sent is recorded as 499 (nginx's "client closed request").
 */
export function observe(metrics: ProxyMetrics): Middleware {
  return async (ctx, next) => {
    ctx.res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - ctx.startedAt) / 1e9;
      const aborted = !ctx.res.writableFinished;
      const code = aborted && !ctx.res.headersSent ? 499 : ctx.res.statusCode;
      const backend = ctx.backend?.name ?? 'none';
      const method = methodLabel(ctx.req.method);
      metrics.requests.inc({ backend, method, code: String(code) });
      metrics.duration.observe({ backend, method }, seconds);
      const entry = {
        method: ctx.req.method,
        path: ctx.routePath,
        route: ctx.route?.name,
        status: code,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        backend,
        ...(ctx.backend === undefined ? {} : { clientId: ctx.backend.clientId }),
        ...(ctx.principal === undefined ? {} : { key: ctx.principal.name }),
        remoteAddress: ctx.req.socket.remoteAddress,
        ...(ctx.retried ? { retried: true } : {}),
        ...(ctx.upstreamError === undefined ? {} : { upstreamError: ctx.upstreamError }),
        ...(aborted ? { aborted: true } : {}),
      };
      if (code >= 500) ctx.log.warn(entry, 'request');
      else ctx.log.info(entry, 'request');
    });
    await next();
  };
}
