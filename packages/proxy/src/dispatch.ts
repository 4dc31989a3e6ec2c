import type { Logger } from '@ibrest/common';
import { INTERNAL_HEADERS, type Capability } from '@ibrest/contract';
import type { RequestContext } from './context.js';
import {
  CapabilityUnavailableError,
  NoHealthyWorkerError,
  OrderWorkerUnavailableError,
  UpstreamError,
  UpstreamTimeoutError,
  WorkerUnavailableError,
} from './errors.js';
import type { Forwarder, UpstreamFailure } from './forward.js';
import type { PassiveHealth } from './health/passive.js';
import { sendError } from './http/respond.js';
import type { LeastOutstanding } from './balancer/least-outstanding.js';
import type { Pool, Worker } from './balancer/pool.js';
import { pickSticky } from './balancer/sticky.js';
import type { ProxyMetrics } from './metrics.js';
import { mayRetry } from './retry.js';
import type { Route } from './router/routes.js';
import { isStream } from './router/streams.js';
import { UpstreamBusyError, type UpstreamPool, type UpstreamSlots } from './upstream-slots.js';

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
  slots: UpstreamSlots;
  /** The shared secret workers check (`x-ibrest-proxy-token`); undefined when none is configured. */
  internalToken?: string;
}

/**
 * The capability to name when `missing` is absent: every capability but `mirror` stands on the IB link, so when
 * no worker has the link the link is what the caller is told is missing.
 */
function blame(missing: Capability | undefined, workers: readonly Worker[]): Capability | undefined {
  if (missing === undefined || missing === 'mirror') return missing;
  return workers.some((w) => w.capabilities.has('link')) ? missing : 'link';
}

/** Which upstream pool a request uses: streams never share with anything; order operations have their own. */
function poolOf(ctx: RequestContext): UpstreamPool {
  if (isStream(ctx)) return 'streams';
  return ctx.route!.target === 'order' ? 'orders' : 'requests';
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
      if (w.capabilities.size === 0) {
        metrics.upstreamErrors.inc({ backend: w.name, reason: 'backend_down' });
        throw new OrderWorkerUnavailableError(deps.retryAfterSeconds, {
          clientId: 0,
          state: w.state,
          lastError: w.lastError,
        });
      }
      const missing = blame(
        route.needs.find((n) => !w.capabilities.has(n)),
        [w],
      );
      if (missing !== undefined) {
        metrics.upstreamErrors.inc({ backend: w.name, reason: 'capability_missing' });
        const details = { clientId: 0, state: w.state, needs: route.needs };
        throw new CapabilityUnavailableError(missing, deps.retryAfterSeconds, details);
      }
      return w;
    }
    const candidates = pool.candidates(route.needs);
    const w =
      route.target === 'sticky' && route.stickyKey !== undefined
        ? pickSticky(route.stickyKey, candidates, exclude)
        : balancer.pick(candidates, exclude);
    if (w === undefined) throw unavailable(route);
    return w;
  }

  /** Why nothing could take the request: no reachable worker, or none with a capability the route needs. */
  function unavailable(route: Route): Error {
    const reachable = pool.all().filter((x) => x.capabilities.size > 0);
    const missing = blame(
      route.needs.find((n) => !reachable.some((x) => x.capabilities.has(n))),
      reachable,
    );
    if (reachable.length > 0 && missing !== undefined) {
      metrics.upstreamErrors.inc({ backend: 'none', reason: 'capability_missing' });
      const details = { needs: route.needs, workersReachable: reachable.length };
      return new CapabilityUnavailableError(missing, deps.retryAfterSeconds, details);
    }
    metrics.upstreamErrors.inc({ backend: 'none', reason: 'no_healthy_backend' });
    const workers = pool.all();
    const details = { workers: workers.length, up: workers.filter((x) => x.up).length };
    return new NoHealthyWorkerError(deps.retryAfterSeconds, details);
  }

  function failureError(route: Route, failure: UpstreamFailure, worker: Worker): Error {
    const details = { clientId: worker.clientId, reason: failure.reason };
    if (failure.timeout) return new UpstreamTimeoutError(deps.upstreamTimeoutMs, details);
    if (failure.connectFailure) {
      return route.target === 'order'
        ? new OrderWorkerUnavailableError(deps.retryAfterSeconds, details)
        : new WorkerUnavailableError(deps.retryAfterSeconds, details);
    }
    return new UpstreamError(`The worker failed while answering (${failure.reason})`, details);
  }

  /** What the proxy tells the worker, set after every other header change (see middlewares/boundary.ts). */
  function identity(ctx: RequestContext): Record<string, string> {
    const h: Record<string, string> = {};
    if (deps.internalToken !== undefined) h[INTERNAL_HEADERS.proxyToken] = deps.internalToken;
    if (ctx.principal !== undefined) {
      h[INTERNAL_HEADERS.key] = ctx.principal.name;
      h[INTERNAL_HEADERS.scopes] = [...ctx.principal.scopes].sort().join(',');
    }
    return h;
  }

  function attempt(ctx: RequestContext, worker: Worker, n: number, tried: Set<number>): void {
    const { res } = ctx;
    const upstream = poolOf(ctx);
    const abort = new AbortController();
    const onClose = (): void => abort.abort();
    res.once('close', onClose);
    deps.slots.acquire(upstream, worker.clientId, abort.signal).then(
      (slot) => {
        res.off('close', onClose);
        if (res.destroyed) return slot();
        res.once('close', slot);
        send(ctx, worker, n, tried, upstream, slot);
      },
      (err: unknown) => {
        res.off('close', onClose);
        if (res.destroyed) return;
        if (err instanceof UpstreamBusyError) metrics.upstreamBusy.inc({ pool: upstream });
        ctx.upstreamError = 'upstream_busy';
        sendError(res, err);
      },
    );
  }

  function send(
    ctx: RequestContext,
    worker: Worker,
    n: number,
    tried: Set<number>,
    upstream: UpstreamPool,
    slot: () => void,
  ): void {
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
      pool: upstream,
      clientWantsClose: ctx.clientWantsClose,
      requestHeaders: identity(ctx),
      responseHeaders: { 'x-ib-client-id': String(worker.clientId), 'x-request-id': ctx.reqId },
      onResponse: (status, headers) => deps.passive.answer(worker, status, headers),
      onFailure: (failure) => {
        release();
        res.off('close', release);
        slot();
        res.off('close', slot);
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
            ctx.log.info(
              { clientId: worker.clientId, reason: failure.reason, retryClientId: next.clientId },
              'retrying on another worker',
            );
            attempt(ctx, next, n + 1, tried);
            return;
          }
        }
        ctx.log.warn(
          { clientId: worker.clientId, reason: failure.reason, err: failure.error.message },
          'upstream failure',
        );
        sendError(res, failureError(route, failure, worker));
      },
    });
  }

  return (ctx) => {
    const worker = select(ctx.route!, new Set());
    attempt(ctx, worker, 0, new Set());
  };
}
