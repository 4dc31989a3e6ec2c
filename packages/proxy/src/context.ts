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
  /**
   * Logger carrying `reqId`; built on first use, so a request that logs nothing (the usual case) never pays for a pino
   * child.
   */
  log: Logger;
  /** The chain's logger without per-request bindings (the access log adds `reqId` as a field instead). */
  readonly baseLog: Logger;
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
  /** The client asked for `Connection: close` (read by the trust boundary before the header is removed). */
  clientWantsClose: boolean;
  /** Reason of the last upstream failure, for the access log. */
  upstreamError?: string;
}

export type Next = () => Promise<void>;
export type Middleware = (ctx: RequestContext, next: Next) => Promise<void>;

/**
 * The one implementation of {@link RequestContext}: a class, so every request has the same shape (one hidden class).
 */
export class RequestState implements RequestContext {
  reqId = '';
  readonly startedAt = process.hrtime.bigint();
  routePath = '';
  query!: URLSearchParams;
  route?: Route;
  principal?: ApiKeyRecord;
  body?: Buffer;
  backend?: Worker;
  retried = false;
  clientWantsClose = false;
  upstreamError?: string;
  private childLog?: Logger;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly baseLog: Logger,
  ) {}

  get log(): Logger {
    return (this.childLog ??= this.reqId === '' ? this.baseLog : this.baseLog.child({ reqId: this.reqId }));
  }

  set log(logger: Logger) {
    this.childLog = logger;
  }
}
