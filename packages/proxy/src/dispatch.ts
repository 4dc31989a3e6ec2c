import type { Logger } from '@ibrest/common';
import type { RequestContext } from './context.js';
import { NoHealthyWorkerError, OrderWorkerUnavailableError, UpstreamError, UpstreamTimeoutError, WorkerUnavailableError } from './errors.js';
import type { Forwarder, UpstreamFailure } from './forward.js';
import type { PassiveHealth } from './health/passive.js';
import { sendError } from './http/respond.js';
import type { LeastOutstanding } from './balancer/least-outstanding.js';
import type { Pool, Worker } from './balancer/pool.js';
import { pickSticky } from './balancer/sticky.js';
import type { ProxyMetrics } from './metrics.js';
import { mayRetry } from './retry.js';
import type { Route } from './router/routes.js';

export interface DispatchDeps {
  pool: Pool;
  balancer: LeastOutstanding;
  forwarder: Forwarder;
  passive: PassiveHealth;
  metrics: ProxyMetrics;
  log: Logger;
  upstreamTimeoutMs: number;
  /** Seconds a caller should wait when a worker is down: about one down-probe interval. */
  retryAfterSeconds: number;
}

/**
 * balancer → forwarder, with the retry rule sitting right next to the forward call so that only upstream
 * failures are ever retried (refusals from auth or pacing happen earlier and never reach here).
 */
export function createDispatcher(deps: DispatchDeps): (ctx: RequestContext) => void {
  const { pool, balancer, forwarder, metrics } = deps;

  function select(route: Route, exclude: ReadonlySet<number>): Worker {
    if (route.target === 'order') {
      const w = pool.orderWorker;
      if (!w.up) {
        metrics.upstreamErrors.inc({ backend: w.name, reason: 'backend_down' });
        throw new OrderWorkerUnavailableError(deps.retryAfterSeconds, { clientId: 0, state: w.state, lastError: w.lastError });
      }
      return w;
    }
    const candidates = pool.readCandidates();
    const w = route.target === 'sticky' && route.stickyKey !== undefined ? pickSticky(route.stickyKey, candidates, exclude) : balancer.pick(candidates, exclude);
    if (w === undefined) {
      metrics.upstreamErrors.inc({ backend: 'none', reason: 'no_healthy_backend' });
      throw new NoHealthyWorkerError(deps.retryAfterSeconds, { workers: pool.all().length, up: pool.all().filter((x) => x.up).length });
    }
    return w;
  }

  function failureError(route: Route, failure: UpstreamFailure, worker: Worker): Error {
    const details = { clientId: worker.clientId, reason: failure.reason };
    if (failure.timeout) return new UpstreamTimeoutError(deps.upstreamTimeoutMs, details);
    if (failure.connectFailure) {
      return route.target === 'order' ? new OrderWorkerUnavailableError(deps.retryAfterSeconds, details) : new WorkerUnavailableError(deps.retryAfterSeconds, details);
    }
    return new UpstreamError(`The worker failed while answering (${failure.reason})`, details);
  }

  function attempt(ctx: RequestContext, worker: Worker, n: number, tried: Set<number>): void {
    const route = ctx.route!;
    const { req, res } = ctx;
    tried.add(worker.clientId);
    ctx.backend = worker;
    const release = pool.acquire(worker);
    res.once('close', release);
    forwarder.forward({
      req,
      res,
      target: worker.url,
      body: ctx.body!,
      responseHeaders: { 'x-ib-client-id': String(worker.clientId), 'x-request-id': ctx.reqId },
      onResponse: (status, headers) => deps.passive.answer(worker, status, headers),
      onFailure: (failure) => {
        release();
        res.off('close', release);
        metrics.upstreamErrors.inc({ backend: worker.name, reason: failure.reason });
        deps.passive.failure(worker, failure);
        ctx.upstreamError = failure.reason;
        if (mayRetry(route, req.method ?? 'GET', failure, n, res.headersSent)) {
          let next: Worker | undefined;
          try {
            next = select(route, tried);
          } catch {
            next = undefined;
          }
          if (next !== undefined) {
            metrics.retries.inc({ backend: worker.name });
            ctx.retried = true;
            ctx.log.info({ clientId: worker.clientId, reason: failure.reason, retryClientId: next.clientId }, 'retrying on another worker');
            attempt(ctx, next, n + 1, tried);
            return;
          }
        }
        ctx.log.warn({ clientId: worker.clientId, reason: failure.reason, err: failure.error.message }, 'upstream failure');
        sendError(res, failureError(route, failure, worker));
      },
    });
  }

  return (ctx) => {
    const worker = select(ctx.route!, new Set());
    attempt(ctx, worker, 0, new Set());
  };
}
