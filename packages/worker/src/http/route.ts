import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@ibrest/common';
import type { Deadline } from '../ib/deadline.js';
import type { Schema } from './schema.js';

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface RouteContext {
  query: Record<string, any>;
  params: Record<string, any>;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  /** The headers as received, repeats kept (a repeated Idempotency-Key is refused, not joined). */
  rawHeaders?: string[];
  reqId: string;
  /** From `?timeout=` (seconds) or REQUEST_TIMEOUT_MS, capped by MAX_REQUEST_TIMEOUT_MS. */
  deadline: Deadline;
  log: Logger;
}

export interface RouteResult {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
  /** Takes over the response (an SSE stream, an Atom document); the app then writes nothing itself. */
  respond?(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * One entry of the route table. The same object registers the express handler, validates the request
 * and is rendered into /openapi.json.
 */
export interface RouteDef {
  method: Method;
  /** Express path (`/order/:orderId`); OpenAPI gets `{orderId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Object schema of the path parameters (all strings in the URL; coerced like the query). */
  params?: Schema;
  /** Object schema of the query string. `timeout` is added to every route that waits on IB. */
  query?: Schema;
  body?: Schema;
  /** The body may be absent (then it is not validated). */
  bodyOptional?: boolean;
  /** Answers needing IB (or its mirror) get `timeout` and the 503/504 responses documented. */
  usesIb: boolean;
  /** Schema of the 2xx body. */
  response: Schema;
  /** Other 2xx media types besides application/json (feeds: text/event-stream, application/atom+xml). */
  produces?: string[];
  successStatus?: number;
  /** Error codes this route can answer with (beyond the generic ones), by HTTP status. */
  errors: Partial<Record<number, string[]>>;
  handle(ctx: RouteContext): Promise<RouteResult> | RouteResult;
}
