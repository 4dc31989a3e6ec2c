import type { UpstreamFailure } from './forward.js';
import type { Route } from './router/routes.js';

/** RFC 9110 §9.2.2 idempotent methods. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Whether a failed attempt may be sent to another worker (once). Only these cases are safe:
 * - the connection never came up: no byte reached the worker, any method;
 * - an idempotent request whose connection was reset before any answer (the idle-close race on a reused
 *   keep-alive socket, or a worker that died while working on it): a repeat is harmless by definition. Not for
 *   routes IB paces pool-wide (historical), unless the socket was a reused one: the dead worker may already have
 *   sent the request to IB, and a repeat would count twice at IB against one slot in the proxy's pacer.
 * Pinned order routes are never retried: there is no other worker for them; routes the manifest marks
 * `retry: false` (writes that may have reached IB) neither. Nothing is retried once the response has started.
 */
export function mayRetry(
  route: Route,
  method: string,
  failure: UpstreamFailure,
  attempt: number,
  responseStarted: boolean,
): boolean {
  if (attempt > 0 || responseStarted || route.target === 'order' || !route.retry) return false;
  if (failure.connectFailure) return true;
  if (failure.code !== 'ECONNRESET' || !IDEMPOTENT.has(method)) return false;
  return failure.reusedSocket || route.pacing === undefined;
}
