import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { createProxyServer, type ServerOptions } from 'http-proxy-3';
import type { UpstreamPool } from './upstream-slots.js';

/**
 * The only module that imports the proxy library (http-proxy-3, see docs: it cancels upstream requests when
 * the client goes away, which http-proxy 1.18 does not). Everything the library gets wrong by default is
 * fixed here, each measured in reference/proxy-ops.md:
 * - keep-alive agent (lifo, bounded sockets) or every request opens a TCP connection;
 * - an error callback on every call, or the first dead worker throws and kills the process;
 * - hop-by-hop headers stripped both ways, or a client's `Connection: close` defeats upstream pooling;
 * - explicit connect and idle timeouts;
 * - responses piped as they arrive (SSE passes through unbuffered).
 */

/** RFC 9110 §7.6.1 hop-by-hop fields, plus `expect` (the body is already buffered, no 100-continue upstream). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-authenticate',
];

/** Codes meaning the TCP connection never came up: no byte of the request reached the worker. */
const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
]);

export interface ForwarderOptions {
  /** Max keep-alive sockets per worker for request/response traffic. */
  maxSockets: number;
  /** Max sockets per worker for order operations (fresh connection each) and for streams. */
  orderSockets: number;
  streamSockets: number;
  /** Idle pooled sockets are closed after this, below the worker's keepAliveTimeout. */
  freeSocketTimeoutMs: number;
  /** No byte from the worker for this long → 504. */
  upstreamTimeoutMs: number;
  connectTimeoutMs: number;
}

/** What went wrong talking to a worker, classified for retry, health and metrics. */
export interface UpstreamFailure {
  error: Error;
  /** Error code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT_UPSTREAM` …) or `other`. */
  code: string;
  /** Metric reason: the code, or `timeout` / `connect_timeout`. */
  reason: string;
  /** The connection never came up: safe to send the request elsewhere. */
  connectFailure: boolean;
  /** The request went out on a pooled socket (a reset there is the keep-alive race). */
  reusedSocket: boolean;
  timeout: boolean;
}

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  target: URL;
  body: Buffer;
  /**
   * Which connection pool carries the request: `requests` (keep-alive), `orders` (a fresh connection per
   * request: a reset is then never the keep-alive race, and a refused connection proves nothing was sent) or
   * `streams` (one long-lived connection each, never taking the others' sockets). @default 'requests'
   */
  pool?: UpstreamPool;
  /** The client asked for `Connection: close` (read before hop-by-hop fields were removed). */
  clientWantsClose?: boolean;
  /** Set on the request after every other header change: the proxy's identity and vouching headers. */
  requestHeaders?: Record<string, string>;
  /** Header overrides for the worker's answer (e.g. which worker served it). */
  responseHeaders?: Record<string, string>;
  /** The worker's status line and headers arrived (before they are passed on), for passive health. */
  onResponse?(status: number, headers: IncomingMessage['headers']): void;
  /** Called at most once, only for failures while the client is still there. */
  onFailure(failure: UpstreamFailure): void;
}

export interface Forwarder {
  forward(request: ForwardRequest): void;
  /** Destroys pooled sockets (shutdown). */
  close(): void;
}

class UpstreamTimeout extends Error {
  readonly code: string;
  constructor(code: 'ETIMEDOUT_UPSTREAM' | 'ECONNECT_TIMEOUT', ms: number) {
    super(code === 'ECONNECT_TIMEOUT' ? `connect timed out after ${ms} ms` : `no data from the worker for ${ms} ms`);
    this.code = code;
  }
}

/** Removes hop-by-hop fields, including any named by `Connection` itself. */
export function stripHopByHop(headers: Record<string, unknown>): void {
  const conn = headers['connection'];
  if (typeof conn === 'string') {
    for (const token of conn.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') delete headers[name];
    }
  }
  // Deleting only what is there: most messages carry none of these, and each delete is a slow-path store.
  for (const h of HOP_BY_HOP) if (headers[h] !== undefined) delete headers[h];
}

function classify(err: Error & { code?: string }, proxyReq: ClientRequest | undefined): UpstreamFailure {
  const code = err.code ?? 'other';
  const timeout = code === 'ETIMEDOUT_UPSTREAM';
  return {
    error: err,
    code,
    reason: timeout
      ? 'timeout'
      : code === 'ECONNECT_TIMEOUT'
        ? 'connect_timeout'
        : /^E[A-Z_]+$/.test(code)
          ? code
          : 'other',
    connectFailure: CONNECT_FAILURE_CODES.has(code),
    reusedSocket: proxyReq?.reusedSocket === true,
    timeout,
  };
}

/** Per-call state, carried to the library's events on the call's options (the library copies them per call). */
interface CallState {
  /** The client's own `Connection` preference, read before the header is stripped. */
  clientWantsClose: boolean;
  responseHeaders: Record<string, string> | undefined;
  onResponse: ForwardRequest['onResponse'];
  /** proxyReq of this attempt, once the library created it. */
  proxyReq: ClientRequest | undefined;
}

const STATE = Symbol('ibrest.forward.state');
type WithState = { [STATE]?: CallState };

const CLOSE_TOKEN = /(^|,)\s*close\s*(,|$)/i;

/** Methods whose empty body carries no `Content-Length` (the others get `Content-Length: 0`). */
function bodylessByDefault(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE';
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    scheduling: 'lifo' as const,
    timeout: options.freeSocketTimeoutMs,
  };
  const fresh = (maxSockets: number) => ({ keepAlive: false, maxSockets });
  const agents: Record<UpstreamPool, { http: http.Agent; https: https.Agent }> = {
    requests: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
    orders: { http: new http.Agent(fresh(options.orderSockets)), https: new https.Agent(fresh(options.orderSockets)) },
    streams: {
      http: new http.Agent(fresh(options.streamSockets)),
      https: new https.Agent(fresh(options.streamSockets)),
    },
  };
  const proxy = createProxyServer({ xfwd: true });
  // Clients that asked for `Connection: close`: remembered past the header's removal, for a retried attempt.
  const closers = new WeakSet<IncomingMessage>();

  // Safety net: per-call callbacks handle every error, but a library path without one must never throw.
  proxy.on('error', () => undefined);

  proxy.on(
    'proxyReq',
    (
      proxyReq: ClientRequest & WithState,
      _req: IncomingMessage,
      _res: ServerResponse,
      callOptions: ServerOptions,
      socket: Socket,
    ) => {
      const state = (callOptions as WithState)[STATE];
      if (state !== undefined) {
        state.proxyReq = proxyReq;
        // The response event only carries proxyRes, whose `req` is this proxyReq: the state rides along on it.
        proxyReq[STATE] = state;
      }
      proxyReq.setTimeout(options.upstreamTimeoutMs, () =>
        proxyReq.destroy(new UpstreamTimeout('ETIMEDOUT_UPSTREAM', options.upstreamTimeoutMs)),
      );
      if (socket.connecting) {
        const timer = setTimeout(
          () => proxyReq.destroy(new UpstreamTimeout('ECONNECT_TIMEOUT', options.connectTimeoutMs)),
          options.connectTimeoutMs,
        );
        timer.unref();
        const clear = (): void => clearTimeout(timer);
        socket.once('connect', clear);
        proxyReq.once('close', clear);
      }
    },
  );

  proxy.on('proxyRes', (proxyRes: IncomingMessage & { req?: WithState }) => {
    const state = proxyRes.req?.[STATE];
    state?.onResponse?.(proxyRes.statusCode ?? 0, proxyRes.headers);
    stripHopByHop(proxyRes.headers);
    // The worker's keep-alive hint describes the proxy↔worker hop; the client hop is ours to describe.
    proxyRes.headers['connection'] = state?.clientWantsClose === true ? 'close' : 'keep-alive';
    if (state?.responseHeaders !== undefined) Object.assign(proxyRes.headers, state.responseHeaders);
  });

  return {
    forward(call) {
      const { req, res, target, body, responseHeaders, onResponse, onFailure } = call;
      const { pool = 'requests', clientWantsClose: told, requestHeaders } = call;
      const connection = req.headers['connection'];
      let clientWantsClose = told === true || closers.has(req);
      if (!clientWantsClose && connection !== undefined && CLOSE_TOKEN.test(connection)) {
        clientWantsClose = true;
        closers.add(req);
      }
      const state: CallState = {
        clientWantsClose,
        responseHeaders,
        onResponse,
        proxyReq: undefined,
      };
      stripHopByHop(req.headers);
      // Last: nothing after this point may remove or rename what the proxy vouches for.
      if (requestHeaders !== undefined) Object.assign(req.headers, requestHeaders);
      // The body was buffered: send it with an exact length (chunked framing was hop-by-hop).
      if (body.length > 0 || !bodylessByDefault(req.method)) req.headers['content-length'] = String(body.length);
      const callOptions: ServerOptions & WithState = {
        target,
        agent: target.protocol === 'https:' ? agents[pool].https : agents[pool].http,
        [STATE]: state,
      };
      // Without a buffer the library pipes `req`, which is already drained: the pipe just ends the upstream
      // request. A stream per body-less request (most of them) would be pure overhead.
      if (body.length > 0) callOptions.buffer = Readable.from([body]);
      let failed = false;
      proxy.web(req, res, callOptions, (err: Error) => {
        const proxyReq = state.proxyReq;
        proxyReq?.destroy();
        // A client that left is not an upstream failure: nothing to answer, nothing to mark down.
        if (failed || res.destroyed || res.writableEnded) return;
        failed = true;
        onFailure(classify(err as Error & { code?: string }, proxyReq));
      });
    },
    close() {
      for (const a of Object.values(agents)) {
        a.http.destroy();
        a.https.destroy();
      }
    },
  };
}
