import type { Logger } from '@ibrest/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestState, type RequestContext, type Middleware } from './context.js';
import { readBody, type BodyBudget } from './http/body.js';
import { boundary } from './middlewares/boundary.js';
import { streamLimits, type StreamLimitOptions } from './middlewares/stream-limits.js';
import { isStream } from './router/streams.js';
import { normalizeTarget } from './http/normalize.js';
import { sendError } from './http/respond.js';
import { allowlist } from './middlewares/allowlist.js';
import { auth } from './middlewares/auth.js';
import { historicalPacing } from './middlewares/historical-pacing.js';
import { maintenance } from './middlewares/maintenance.js';
import { marketDataBudget } from './middlewares/market-data-budget.js';
import { observe } from './middlewares/observe.js';
import { requestId } from './middlewares/request-id.js';
import type { MarketDataBudgets } from './budgets/market-data.js';
import type { MaintenanceSchedule } from '@ibrest/order-safety';
import type { ProxyMetrics } from './metrics.js';
import type { HistoricalPacer, OpenHistoricalRequests } from './pacing/historical.js';
import type { Allowlist } from './security/allowlist.js';
import type { ApiKeyStore } from './security/api-keys.js';
import { classify } from './router/routes.js';

export interface ChainDeps {
  log: Logger;
  metrics: ProxyMetrics;
  /** Undefined: every address may connect. */
  allowlist?: Allowlist;
  /** Undefined: no keys configured (loopback or --insecure only). */
  keys?: ApiKeyStore;
  metricsAuth: 'none' | 'key';
  /** IB's historical rules, pool-wide (undefined: historical pacing disabled). */
  pacer?: { rules: HistoricalPacer; open: OpenHistoricalRequests };
  historicalMaxWaitMs: number;
  /** Undefined: no maintenance windows configured. */
  maintenance?: MaintenanceSchedule;
  budgets: MarketDataBudgets;
  budgetRetryAfterSeconds: number;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
  streams: StreamLimitOptions;
  local(ctx: RequestContext): Promise<void>;
  dispatch(ctx: RequestContext): void;
}

function compose(
  middlewares: readonly Middleware[],
  last: (ctx: RequestContext) => Promise<void>,
): (ctx: RequestContext) => Promise<void> {
  return (ctx) => {
    const run = (i: number): Promise<void> =>
      i < middlewares.length ? middlewares[i]!(ctx, () => run(i + 1)) : last(ctx);
    return run(0);
  };
}

/**
 * The whole request path, composed here and nowhere else. Order and why:
 * 0. boundary     – hop-by-hop handling, then every client-sent `x-ibrest-*` header dropped: before anything
 *                   reads a header, so no later step can see (or lose) an internal header a client made up;
 * 1. request id   – first, so every later log line and every refusal carries it;
 * 2. observe      – before any refusal, so 401/403/429/503 are logged and counted like answers;
 * 3. normalize    – one canonical path (case, encoding, dot segments) for routing and forwarding alike;
 * 4. route        – a pure classification; auth needs its scope and admission checks its pacing class;
 * 5. allowlist    – the cheapest refusal, before any key is hashed;
 * 6. auth         – key and scope; everything after it knows the caller (`ctx.principal`), which is where
 *                   per-key checks (order policy, market-data budgets) belong, so they never count
 *                   unauthenticated traffic;
 * 7. maintenance  – inside an IB maintenance window, requests that need IB stop here with 503; before pacing
 *                   and budgets so a request that cannot be served spends neither;
 * 8. pacing       – pool-wide historical budget; after auth so strangers cannot spend it;
 * 9. budgets      – pool-wide market-data lines / depth books for streams, held until the response closes;
 * 10. streams     – per-key and total limits on open streams; after auth (counts the known caller);
 * 11. body        – buffered only for authorised callers, bounded in size, time and proxy-wide bytes;
 * 12. local routes or dispatch (balancer → forwarder, with retry beside the forward call).
 */
export function createChain(deps: ChainDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route: Middleware = async (ctx, next) => {
    ctx.route = classify({
      method: ctx.req.method ?? 'GET',
      path: ctx.routePath,
      query: ctx.query,
      accept: String(ctx.req.headers.accept ?? ''),
      metricsAuth: deps.metricsAuth,
    });
    await next();
  };
  const normalize: Middleware = async (ctx, next) => {
    const target = normalizeTarget(ctx.req.url);
    ctx.routePath = target.routePath;
    ctx.query = target.query;
    ctx.req.url = target.forwardUrl;
    await next();
  };
  const middlewares: Middleware[] = [boundary, requestId, observe(deps.metrics), normalize, route];
  if (deps.allowlist !== undefined) middlewares.push(allowlist(deps.allowlist, deps.metrics));
  if (deps.keys !== undefined) middlewares.push(auth(deps.keys, deps.metrics));
  if (deps.maintenance !== undefined) middlewares.push(maintenance(deps.maintenance, deps.metrics));
  if (deps.pacer !== undefined) {
    middlewares.push(historicalPacing(deps.pacer.rules, deps.pacer.open, deps.historicalMaxWaitMs, deps.metrics));
  }
  middlewares.push(marketDataBudget(deps.budgets, deps.budgetRetryAfterSeconds, deps.metrics));
  middlewares.push(streamLimits(deps.streams, isStream, deps.metrics));
  middlewares.push(async (ctx, next) => {
    try {
      ctx.body = await readBody(ctx.req, {
        maxBytes: deps.maxBodyBytes,
        timeoutMs: deps.bodyTimeoutMs,
        budget: deps.bodyBudget,
        hold: (bytes) => ctx.res.once('close', () => deps.bodyBudget.give(bytes)),
      });
    } catch (err) {
      // The rest of the upload is not read: close the connection once the refusal is sent.
      ctx.res.setHeader('connection', 'close');
      deps.metrics.bodyRefusals.inc({ reason: (err as { code?: string }).code ?? 'aborted' });
      throw err;
    }
    await next();
  });
  const handler = compose(middlewares, async (ctx) => {
    if (ctx.res.destroyed) return;
    if (ctx.route!.target === 'local') return deps.local(ctx);
    deps.dispatch(ctx);
  });

  return (req, res) => {
    const ctx = new RequestState(req, res, deps.log);
    handler(ctx).catch((err: unknown) => {
      if (!(err instanceof Error && 'status' in err)) ctx.log.error({ err }, 'request failed inside the proxy');
      sendError(res, err);
    });
  };
}
