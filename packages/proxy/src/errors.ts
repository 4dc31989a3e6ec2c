import { ApiError, PacingError, UnavailableError } from '@ibrest/common';
import type { Capability } from '@ibrest/contract';

/**
 * Every refusal the proxy itself produces. Each has a stable code; `http/respond.ts` alone turns them into
 * a response (status, `Retry-After`, envelope).
 */

/** 503: order operations are pinned to clientId 0 and never re-routed, so its absence is explicit. */
export class OrderWorkerUnavailableError extends UnavailableError {
  constructor(retryAfter: number, details?: Record<string, unknown>) {
    super(
      'ORDER_WORKER_UNAVAILABLE',
      'The clientId-0 worker that handles every order operation is not available',
      retryAfter,
      details,
    );
  }
}

/**
 * 503: workers are reachable but none can serve what this route needs now (a market-data farm down, the IB
 * link down, order storage failing); the code names the capability (`MARKET_DATA_UNAVAILABLE`, …).
 */
export class CapabilityUnavailableError extends UnavailableError {
  constructor(capability: Capability, retryAfter: number, details?: Record<string, unknown>) {
    const message = `No worker can serve "${capability}" now`;
    super(capabilityUnavailableCode(capability), message, retryAfter, { capability, ...details });
  }
}

/** The stable code of "no worker can serve capability X" (`marketData` → `MARKET_DATA_UNAVAILABLE`). */
export function capabilityUnavailableCode(capability: Capability): string {
  return `${capability.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}_UNAVAILABLE`;
}

/** 503: no worker in rotation can take a balanced request. */
export class NoHealthyWorkerError extends UnavailableError {
  constructor(retryAfter: number, details?: Record<string, unknown>) {
    super('NO_HEALTHY_WORKER', 'No worker is available to serve this request', retryAfter, details);
  }
}

/** 503: the chosen worker refused the connection (nothing was sent) and no other worker could take it. */
export class WorkerUnavailableError extends UnavailableError {
  constructor(retryAfter: number, details?: Record<string, unknown>) {
    super('WORKER_UNAVAILABLE', 'The worker could not be reached', retryAfter, details);
  }
}

/** 502: the worker broke the exchange (reset, malformed answer) after the request may have reached it. */
export class UpstreamError extends ApiError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(502, 'UPSTREAM_ERROR', message, { details });
  }
}

/** 504: the worker sent nothing for longer than the upstream timeout. */
export class UpstreamTimeoutError extends ApiError {
  constructor(timeoutMs: number, details?: Record<string, unknown>) {
    super(504, 'UPSTREAM_TIMEOUT', `The worker sent nothing for ${timeoutMs} ms`, {
      details: { timeoutMs, ...details },
    });
  }
}

/** 401: no usable `Authorization: Bearer` key. */
export class AuthRequiredError extends ApiError {
  constructor(message: string) {
    super(401, 'UNAUTHORIZED', message);
  }
}

/** 403: the caller is known but not allowed (scope or address). */
export class ForbiddenError extends ApiError {
  constructor(code: 'INSUFFICIENT_SCOPE' | 'ADDRESS_NOT_ALLOWED', message: string, details?: Record<string, unknown>) {
    super(403, code, message, { details });
  }
}

/**
 * 429: a new stream would take more market-data lines or depth books than the account has (pool-wide);
 * refused before IB would answer 101 / 309.
 */
export class MarketDataBudgetError extends PacingError {
  constructor(kind: 'lines' | 'depth', retryAfter: number, details: { budget: number; inUse: number; needed: number }) {
    super(
      kind === 'lines' ? 'MARKET_DATA_LINES_EXHAUSTED' : 'MARKET_DEPTH_BOOKS_EXHAUSTED',
      kind === 'lines'
        ? `All ${details.budget} market-data lines of the account are in use (this stream needs ${details.needed})`
        : `All ${details.budget} market-depth books of the account are in use (this stream needs ${details.needed})`,
      retryAfter,
      details,
    );
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { details: { limit } });
  }
}

export class ProxyNotReadyError extends UnavailableError {
  constructor(details: Record<string, unknown>) {
    super('PROXY_NOT_READY', 'The order worker and at least one other worker must be up', 1, details);
  }
}

export class RouteNotFoundError extends ApiError {
  constructor(path: string) {
    super(404, 'ROUTE_NOT_FOUND', `No proxy route for ${path}`);
  }
}

/** The path exists, not with this method (405); `allow` becomes the `Allow` header. */
export class MethodNotAllowedError extends ApiError {
  constructor(
    method: string,
    path: string,
    readonly allow: readonly string[],
  ) {
    const message = `${path} does not allow ${method}; allowed: ${allow.join(', ')}`;
    super(405, 'METHOD_NOT_ALLOWED', message, { details: { method, allow } });
  }
}

/** Thrown at start-up, never answered over HTTP: the listen address would expose the API unsafely. */
export class InsecureListenError extends Error {
  readonly code = 'INSECURE_LISTEN';
  constructor(message: string) {
    super(message);
    this.name = 'InsecureListenError';
  }
}
