import type { UpstreamFailure } from './forward.js';
import type { Route } from './router/routes.js';

/** RFC 9110 §9.2.2 idempotent methods. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Whether a failed attempt may be sent to another worker (once). Only two cases are safe:
 * - the connection never came up: no byte reached the worker, any method;
 * - an idempotent request hit a reset on a reused keep-alive socket (the idle-close race), where a repeat
 *   is harmless by definition.
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
  return failure.code === 'ECONNRESET' && failure.reusedSocket && IDEMPOTENT.has(method);
}
