import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '@ibrest/common';
import { INTERNAL_HEADERS } from '@ibrest/contract';

/** Probes and scrapes come from the orchestrator and Prometheus, not through the proxy. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);

export class ProxyTokenRequiredError extends ApiError {
  constructor(message = 'This worker serves requests that come through the ibrest proxy only') {
    super(401, 'PROXY_TOKEN_REQUIRED', message);
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Refuses every request the proxy did not vouch for, so a local process cannot place orders or cancel them all
 * on a worker port. Both sides are hashed first: equal lengths for `timingSafeEqual`, and the comparison time
 * says nothing about the secret. The open paths need no token, but one that carries a wrong token is refused
 * too: the proxy sends its token on its readiness probes, so a proxy with another secret than the workers' sees
 * them not ready (and says why) instead of forwarding every request into a 401.
 */
export function requireProxyToken(token: string) {
  const expected = digest(token);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const given = req.headers[INTERNAL_HEADERS.proxyToken];
    const vouched = typeof given === 'string' && timingSafeEqual(digest(given), expected);
    if (OPEN_PATHS.has(req.path) && (given === undefined || vouched)) return next();
    if (vouched) return next();
    next(
      new ProxyTokenRequiredError(
        given === undefined
          ? undefined
          : 'The proxy token this request carries is not the one this worker was given (IBREST_INTERNAL_TOKEN)',
      ),
    );
  };
}
