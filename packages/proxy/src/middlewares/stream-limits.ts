import { PacingError, UnavailableError } from '@ibrest/common';
import type { Middleware, RequestContext } from '../context.js';
import type { ProxyMetrics } from '../metrics.js';

export interface StreamLimitOptions {
  /** Open streams one API key (or, without keys, one client address) may hold. */
  perKey: number;
  /** Open streams the proxy holds in total. */
  total: number;
}

/** Who a stream counts against: the key's name, or the client's address when auth is off. */
function owner(ctx: RequestContext): string {
  return ctx.principal !== undefined ? `key:${ctx.principal.name}` : `addr:${ctx.req.socket.remoteAddress ?? '?'}`;
}

/**
 * Caps long-lived streams (SSE / Atom, the order-event feed) per key and in total; the count is held until the
 * response closes. After auth, so it counts the caller it knows; before the body and dispatch, so a refused
 * stream costs nothing upstream. Streams have their own upstream pool (see upstream-slots.ts): these limits
 * bound that pool's size and keep one caller from holding all of it.
 */
export function streamLimits(
  options: StreamLimitOptions,
  isStream: (ctx: RequestContext) => boolean,
  metrics: ProxyMetrics,
): Middleware {
  const open = new Map<string, number>();
  let total = 0;
  return async (ctx, next) => {
    if (!isStream(ctx)) return next();
    const who = owner(ctx);
    const mine = open.get(who) ?? 0;
    if (mine >= options.perKey) {
      metrics.streamRefusals.inc({ reason: 'per_key' });
      const message = `This caller already holds ${mine} open streams (limit ${options.perKey})`;
      throw new PacingError('STREAM_LIMIT', message, 5, { limit: options.perKey, open: mine });
    }
    if (total >= options.total) {
      metrics.streamRefusals.inc({ reason: 'total' });
      const message = `The proxy holds its limit of ${options.total} open streams`;
      throw new UnavailableError('STREAMS_EXHAUSTED', message, 5, { limit: options.total });
    }
    open.set(who, mine + 1);
    total += 1;
    metrics.openStreams.set(total);
    let released = false;
    ctx.res.once('close', () => {
      if (released) return;
      released = true;
      total -= 1;
      const n = (open.get(who) ?? 1) - 1;
      if (n <= 0) open.delete(who);
      else open.set(who, n);
      metrics.openStreams.set(total);
    });
    await next();
  };
}
