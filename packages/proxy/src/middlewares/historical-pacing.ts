import { setTimeout as sleep } from 'node:timers/promises';
import { PacingError } from '@ibrest/common';
import type { Middleware } from '../context.js';
import type { ProxyMetrics } from '../metrics.js';
import { historicalRequest } from '@ibrest/contract';
import {
  ABORT_GRACE_MS,
  HISTORICAL_RULES,
  type HistoricalPacer,
  type OpenHistoricalRequests,
} from '../pacing/historical.js';

/**
 * Pool-wide historical pacing for routes the manifest gives a historical pacing class. Every such request takes
 * one of IB's 50 places for open historical requests for as long as it runs (a keepUpToDate stream until it
 * ends); `pacing: 'historical'` requests that IB paces (bars of 30 s or less, by the shared request parser) also
 * get a slot under IB's count rules. Both are waited for within `maxWaitMs`, else 429 `HISTORICAL_PACING` with the
 * exact `Retry-After`. A caller that leaves while waiting gives its slot back, and so does a request the worker
 * refused without asking IB (400 invalid, 503 not ready or unreachable): otherwise one client's bad requests would
 * lock everyone out of historical data for ten minutes. A 429 keeps its slot: it may be IB's own pacing answer (162).
 * An identical request rides on the first one's answer (the worker coalesces them): it takes neither.
 */
export function historicalPacing(
  pacer: HistoricalPacer,
  open: OpenHistoricalRequests,
  maxWaitMs: number,
  metrics: ProxyMetrics,
): Middleware {
  return async (ctx, next) => {
    const pacing = ctx.route?.pacing;
    if (pacing === undefined || ctx.req.method !== 'GET') return next();
    const request = pacing === 'historical' ? historicalRequest('bars', ctx.query) : undefined;
    const r = request?.paced === true ? pacer.reserve(request, maxWaitMs) : undefined;
    if (r !== undefined && !r.ok) {
      metrics.pacingRejections.inc({ kind: r.kind });
      throw new PacingError(
        'HISTORICAL_PACING',
        `IB historical-data pacing (${r.kind}) allows this request in ${Math.ceil(r.retryAfterMs / 1000)} s`,
        r.retryAfterMs / 1000,
        r.details,
      );
    }
    const started = Date.now();
    const ac = new AbortController();
    const onClose = (): void => ac.abort();
    ctx.res.once('close', onClose);
    try {
      if (r?.shared !== true) {
        const release = await open.acquire(maxWaitMs, ac.signal);
        if (release === undefined) {
          r?.cancel();
          if (ac.signal.aborted) return;
          metrics.pacingRejections.inc({ kind: 'historical_open' });
          const limit = HISTORICAL_RULES.simultaneousLimit;
          throw new PacingError(
            'HISTORICAL_PACING',
            `IB allows ${limit} historical requests open at once; ${open.inUse} are open (streams included)`,
            1,
            { rule: 'historical_open', open: open.inUse, limit, waitedMs: Date.now() - started },
          );
        }
        // Answered: the request is over at IB. A caller that left (or a stream that was cut) is cancelled at IB
        // by the worker after the fact: its place is given back a little later, so no request overtakes the cancel.
        ctx.res.once('close', () => {
          if (ctx.res.writableFinished) release();
          else setTimeout(release, ABORT_GRACE_MS).unref();
        });
      }
      if (r !== undefined) {
        // Wait for the slot, then ask whether the requests ahead have answered: the windows count from answers.
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
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      r?.cancel();
      return;
    } finally {
      ctx.res.off('close', onClose);
    }
    if (r !== undefined) {
      ctx.res.once('close', () => {
        r.finish(!ctx.res.writableFinished);
        if (ctx.res.statusCode === 400 || ctx.res.statusCode === 503) r.refund();
      });
    }
    await next();
  };
}
