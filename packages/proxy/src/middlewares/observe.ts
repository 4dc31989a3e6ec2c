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
      metrics.observeRequest(backend, methodLabel(ctx.req.method), code, seconds);
      const log = ctx.baseLog;
      if (!log.isLevelEnabled(code >= 500 ? 'warn' : 'info')) return;
      // `reqId` as a field of the line rather than a per-request pino child: same output, no child per request.
      const entry: Record<string, unknown> = {
        reqId: ctx.reqId,
        method: ctx.req.method,
        path: ctx.routePath,
        route: ctx.route?.name,
        status: code,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        backend,
      };
      if (ctx.backend !== undefined) entry.clientId = ctx.backend.clientId;
      if (ctx.principal !== undefined) entry.key = ctx.principal.name;
      entry.remoteAddress = ctx.req.socket.remoteAddress;
      if (ctx.retried) entry.retried = true;
      if (ctx.upstreamError !== undefined) entry.upstreamError = ctx.upstreamError;
      if (aborted) entry.aborted = true;
      if (code >= 500) log.warn(entry, 'request');
      else log.info(entry, 'request');
    });
    await next();
  };
}
