import { isStreamRequest } from '@ibrest/contract';
import type { RequestContext } from '../context.js';

/**
 * A long-lived stream: a subscription feed asked for as SSE / Atom (the router pins those by subscription key),
 * or the order-event feed as SSE / Atom. Streams get their own upstream pool and per-key limits (see
 * upstream-slots.ts, middlewares/stream-limits.ts).
 */
export function isStream(ctx: RequestContext): boolean {
  const route = ctx.route;
  if (route === undefined || route.target === 'local') return false;
  if (route.entry?.sticky === 'subscription' && route.stickyKey !== undefined) return true;
  return route.name === 'listOrderEvents' && isStreamRequest(String(ctx.req.headers.accept ?? ''), ctx.query);
}
