import type { RequestContext } from '../context.js';

/** SSE or Atom, asked by `format=` or by `Accept`. */
export function wantsStream(accept: string, query: URLSearchParams): boolean {
  const format = query.get('format')?.toLowerCase();
  return format === 'sse' || format === 'atom' || /text\/event-stream|application\/atom\+xml/i.test(accept);
}

/**
 * A long-lived stream: a subscription feed, or the order-event feed as SSE. Streams get their own upstream pool
 * and per-key limits (see upstream-slots.ts, middlewares/stream-limits.ts).
 */
export function isStream(ctx: RequestContext): boolean {
  if (ctx.route === undefined || ctx.route.target === 'local') return false;
  if (ctx.route.name === 'feed') return true;
  return ctx.routePath === '/order/events' && wantsStream(String(ctx.req.headers.accept ?? ''), ctx.query);
}
