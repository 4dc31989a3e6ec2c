import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@ibrest/common';
import type { ApiKeyRecord } from './security/api-keys.js';
import type { Worker } from './balancer/pool.js';
import type { Route } from './router/routes.js';

/** Per-request state threaded through the chain; each middleware fills in what it owns. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** From `X-Request-Id` when well-formed, else generated; sent to the worker and back to the caller. */
  reqId: string;
  startedAt: bigint;
  log: Logger;
  /** Decoded, lower-cased path used for routing decisions. */
  routePath: string;
  query: URLSearchParams;
  route?: Route;
  /** The authenticated key (absent when auth is off or the route is open). */
  principal?: ApiKeyRecord;
  /** Buffered request body (set right before dispatch). */
  body?: Buffer;
  /** The worker currently (or last) serving the request. */
  backend?: Worker;
  retried: boolean;
  /** Reason of the last upstream failure, for the access log. */
  upstreamError?: string;
}

export type Next = () => Promise<void>;
export type Middleware = (ctx: RequestContext, next: Next) => Promise<void>;
