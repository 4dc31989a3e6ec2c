import { setTimeout as sleep } from 'node:timers/promises';
import { PacingError } from '@ibrest/common';
import type { Middleware } from '../context.js';
import type { ProxyMetrics } from '../metrics.js';
import { historicalRequest } from '@ibrest/contract';
import type { HistoricalPacer } from '../pacing/historical.js';

/**
 * Pool-wide historical pacing for routes the manifest marks `pacing: 'historical'`, for the requests IB
 * paces (bars of 30 s or less, by the shared request parser; larger bars pass untouched): waits for the
 * granted slot when it is within `maxWaitMs`, else 429 `HISTORICAL_PACING` with the exact `Retry-After`. A
 * caller that leaves while waiting gives its slot back, and so does a request the worker refused without asking IB (400
 * invalid, 503 not ready or unreachable): otherwise one client's bad requests would lock everyone out of
 * historical data for ten minutes. A 429 keeps its slot: it may be IB's own pacing answer (162).
 */
export function historicalPacing(pacer: HistoricalPacer, maxWaitMs: number, metrics: ProxyMetrics): Middleware {
  return async (ctx, next) => {
    if (ctx.route?.pacing !== 'historical' || ctx.req.method !== 'GET') return next();
    const request = historicalRequest('bars', ctx.query);
    if (!request.paced) return next();
    const r = pacer.reserve(request, maxWaitMs);
    if (!r.ok) {
      metrics.pacingRejections.inc({ kind: r.kind });
      throw new PacingError(
        'HISTORICAL_PACING',
        `IB historical-data pacing (${r.kind}) allows this request in ${Math.ceil(r.retryAfterMs / 1000)} s`,
        r.retryAfterMs / 1000,
        r.details,
      );
    }
    // Wait for the slot, then ask whether the requests ahead have answered: the windows count from answers.
    const started = Date.now();
    const ac = new AbortController();
    const onClose = (): void => ac.abort();
    ctx.res.once('close', onClose);
    try {
      let wait = r.delayMs;
      for (;;) {
        if (wait <= 0) wait = r.go();
        if (wait <= 0) break;
        const waited = Date.now() - started;
        if (waited + wait > Math.max(maxWaitMs, r.delayMs)) {
          r.cancel();
          metrics.pacingRejections.inc({ kind: 'historical_contract' });
          throw new PacingError(
            'HISTORICAL_PACING',
            'IB historical-data pacing: requests ahead of this one are still at IB; ' +
              `retry in ${Math.ceil(wait / 1000)} s`,
            wait / 1000,
            { rule: 'in_flight', retryAfterMs: wait, waitedMs: waited },
          );
        }
        await sleep(wait, undefined, { signal: ac.signal });
        wait = 0;
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      r.cancel();
      return;
    } finally {
      ctx.res.off('close', onClose);
    }
    ctx.res.once('close', () => {
      r.finish(!ctx.res.writableFinished);
      if (ctx.res.statusCode === 400 || ctx.res.statusCode === 503) r.refund();
    });
    await next();
  };
}
