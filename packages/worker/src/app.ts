import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { InvalidRequestError, NotFoundError, type Logger } from '@ibrest/common';
import type { WorkerMetrics } from './metrics.js';
import { deadlineIn } from './ib/deadline.js';
import { errorHandler } from './http/error-handler.js';
import { rejectBadQueryEncoding } from './http/query-encoding.js';
import { requestId } from './http/request-id.js';
import { requireProxyToken } from './http/proxy-token.js';
import { MIRROR_AGE_HEADER } from '@ibrest/contract';
import { MIRROR_READS } from './http/mirror-reads.js';
import type { RouteDef } from './http/route.js';
import { coerceQuery, validate, type FieldError, type Schema } from './http/schema.js';

export interface AppOptions {
  routes: RouteDef[];
  clientId: number;
  log: Logger;
  metrics: WorkerMetrics;
  requestTimeoutMs: number;
  maxRequestTimeoutMs: number;
  bodyLimitBytes: number;
  /** Seconds the mirror has not been live, or undefined while it is (see http/mirror-reads.ts). */
  mirrorAgeSeconds?: () => number | undefined;
  /**
   * The proxy's shared secret: when set, every request but `/health/live`, `/health/ready` and `/metrics` must
   * carry it in `x-ibrest-proxy-token` (401 `PROXY_TOKEN_REQUIRED` otherwise).
   */
  proxyToken?: string;
}

/** The `timeout` query parameter every IB-bound route accepts. */
export function timeoutParam(maxRequestTimeoutMs: number, defaultMs: number): Schema {
  return {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: maxRequestTimeoutMs / 1000,
    description: `Deadline in seconds (default ${defaultMs / 1000}, at most ${maxRequestTimeoutMs / 1000})`,
  };
}

/** Adds `timeout` to the query schema of routes that wait on IB (the document and validation share it). */
export function withTimeout(routes: RouteDef[], maxRequestTimeoutMs: number, defaultMs: number): RouteDef[] {
  return routes.map((r) =>
    r.usesIb
      ? {
          ...r,
          query: {
            type: 'object',
            additionalProperties: false,
            ...r.query,
            properties: { ...r.query?.properties, timeout: timeoutParam(maxRequestTimeoutMs, defaultMs) },
          },
        }
      : r,
  );
}

/**
 * Assembles the express app from the route table, in this order: request id (so every later log line
 * and error carries it) → metrics (observes every answer, errors included) → body parser (bounded) →
 * routes (validation, then the handler) → 404 → the one error handler. Never listens.
 */
export function createApp(o: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId(o.clientId));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('close', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      o.metrics.httpRequests.inc({ route, method: req.method, code: String(res.statusCode) });
      o.metrics.httpDuration.observe({ route, method: req.method }, seconds);
    });
    next();
  });
  if (o.proxyToken !== undefined) app.use(requireProxyToken(o.proxyToken));
  app.use(rejectBadQueryEncoding);
  app.use(express.json({ limit: o.bodyLimitBytes, strict: false }));

  for (const route of o.routes) {
    app[route.method](route.path, async (req: Request, res: Response) => {
      res.locals.route = route.path;
      const reqId = res.locals.reqId as string;
      const errors: FieldError[] = [];
      const params = route.params ? coerceQuery(route.params, req.params as Record<string, unknown>) : {};
      if (route.params) validate(route.params, params, 'params', errors);
      const query = coerceQuery(
        route.query ?? { type: 'object', properties: {} },
        req.query as Record<string, unknown>,
      );
      validate(route.query ?? { type: 'object', additionalProperties: false, properties: {} }, query, 'query', errors);
      if (route.body && !(route.bodyOptional && req.body === undefined)) validate(route.body, req.body, 'body', errors);
      if (errors.length > 0)
        throw new InvalidRequestError(`Invalid request: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, {
          fields: errors,
        });
      const timeoutMs = typeof query.timeout === 'number' ? Math.round(query.timeout * 1000) : o.requestTimeoutMs;
      let log: Logger | undefined;
      const result = await route.handle({
        query,
        params,
        body: req.body,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        reqId,
        deadline: deadlineIn(Math.min(timeoutMs, o.maxRequestTimeoutMs)),
        // Built on first use: most handlers never log, and a pino child per request is not free.
        get log() {
          return (log ??= o.log.child({ reqId }));
        },
      });
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      if (MIRROR_READS.has(route.operationId)) {
        const age = o.mirrorAgeSeconds?.();
        if (age !== undefined) res.setHeader(MIRROR_AGE_HEADER, String(age));
      }
      if (result.respond !== undefined) {
        result.respond(req, res);
        return;
      }
      if (route.path === '/metrics') {
        res
          .status(200)
          .type('text/plain; version=0.0.4')
          .send(result.body as string);
        return;
      }
      res.status(result.status ?? route.successStatus ?? 200).json(result.body);
    });
  }
  app.use((req: Request) => {
    throw new NotFoundError('ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(o.log));
  return app;
}
