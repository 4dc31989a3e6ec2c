import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ROUTES, RouteMatcher } from '@ibrest/contract';

/**
 * The stub serves exactly the worker's routes of the route manifest (@ibrest/contract), so it cannot drift
 * from the real worker: any other path is 404 ROUTE_NOT_FOUND, a method a path does not have 405, like the
 * real one. Proxy mechanics are driven by `?stub=` on any manifest route: `slow&ms=N`, `hold`,
 * `stream&events=N&interval=MS`, `reset`.
 */
const MANIFEST = new RouteMatcher(ROUTES.filter((r) => r.owner === 'worker'));

/**
 * A stand-in for an ibrest worker on a real port: readiness that tests switch, echo routes that say which
 * stub served them, slow and streaming routes that record whether the caller went away, and a route that
 * resets its socket. Every counter is observable so tests assert on what the worker really saw.
 */
export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Server-side socket identity: equal ids mean the proxy reused a keep-alive connection. */
  socketId: number;
  /** When the request was read (Date.now()). */
  receivedAt: number;
  /** When the stub wrote its answer (`?stub=slow`), if it has. */
  answeredAt?: number;
}

export class StubWorker {
  readonly requests: StubRequest[] = [];
  ready = true;
  /** Extra fields of the readiness body (a worker on a spare clientId reports `clientId`, `lease`). */
  readyReport: Record<string, unknown> = {};
  /** Connections accepted since start. */
  connections = 0;
  /** Slow/stream/hold requests whose client (the proxy) closed before the stub finished. */
  closedEarly = 0;
  completed = 0;
  /** Open SSE streams right now (`?stub=stream` and feed streams). */
  openStreams = 0;
  /**
   * When set, a feed request asking for SSE (`Accept: text/event-stream` or `format=sse`) gets an endless
   * stream held until the caller leaves (otherwise the echo, like any route).
   */
  holdFeeds = false;
  /** Open held feed streams by request URL. */
  readonly feedStreams = new Map<string, number>();
  /**
   * Every request other than health answers this status (with `Retry-After` when `retryAfter` is set), like a
   * worker whose IB link is down (503 + Retry-After) or one that is broken (502, 503 without Retry-After).
   */
  failWith: { status: number; retryAfter?: number } | undefined;
  /**
   * When set, a request arriving on a connection that already carried one is cut without an answer: the worker
   * closed that idle keep-alive connection just as the proxy reused it (the race a worker's death opens).
   */
  cutReusedConnections = false;
  private readonly served = new WeakMap<Socket, number>();
  /** Responses of `POST /order` by `Idempotency-Key`, replayed like the real worker does. */
  private readonly idempotent = new Map<string, string>();
  private orderSeq = 100;
  private readonly sockets = new Set<Socket>();
  private readonly held: Array<() => void> = [];
  private server: http.Server;
  private socketSeq = 0;
  private socketIds = new WeakMap<Socket, number>();
  port = 0;

  constructor(readonly clientId: number) {
    this.server = this.createServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests currently parked on `?stub=hold`. */
  get holding(): number {
    return this.held.length;
  }

  static async start(clientId: number): Promise<StubWorker> {
    const stub = new StubWorker(clientId);
    await stub.listen(0);
    return stub;
  }

  /** Answers every parked `?stub=hold` request. */
  release(): void {
    for (const f of this.held.splice(0)) f();
  }

  /** Like `kill -9`: listener gone and every connection cut, so new connections are refused. */
  async kill(): Promise<void> {
    this.release();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** A fresh process on the same port. */
  async restart(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.port);
  }

  close(): Promise<void> {
    return this.kill();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private createServer(): http.Server {
    const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => void this.handle(req, res));
    server.on('connection', (s: Socket) => {
      this.connections += 1;
      this.socketIds.set(s, ++this.socketSeq);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-ib-client-id': String(this.clientId),
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** Resolves true when the response finished, false when the peer closed first. */
  private watch(res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      res.on('close', () => {
        if (res.writableFinished) {
          this.completed += 1;
          resolve(true);
        } else {
          this.closedEarly += 1;
          resolve(false);
        }
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const n = (this.served.get(req.socket) ?? 0) + 1;
    this.served.set(req.socket, n);
    if (this.cutReusedConnections && n > 1 && !req.url?.startsWith('/health/')) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://stub');
    if (url.pathname === '/health/ready') {
      return this.json(res, this.ready ? 200 : 503, {
        status: this.ready ? 'ready' : 'disconnected',
        clientId: this.clientId,
        ...this.readyReport,
      });
    }
    if (url.pathname === '/health/live') return this.json(res, 200, { status: 'ok' });
    const route = MANIFEST.match(req.method ?? 'GET', decodeURIComponent(url.pathname));
    if (route.kind !== 'route') {
      const status = route.kind === 'none' ? 404 : 405;
      const code = route.kind === 'none' ? 'ROUTE_NOT_FOUND' : 'METHOD_NOT_ALLOWED';
      return this.json(res, status, { error: { code, message: `stub: no ${req.method} ${url.pathname}` } });
    }
    const record: StubRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      socketId: this.socketIds.get(req.socket) ?? 0,
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    const echo = {
      clientId: this.clientId,
      method: record.method,
      url: record.url,
      headers: record.headers,
      body: record.body,
    };
    if (this.failWith !== undefined) {
      const { status, retryAfter } = this.failWith;
      const text = JSON.stringify({
        error: { code: status === 503 ? 'IB_NOT_READY' : 'IB_ERROR', message: 'stub failure', details: {} },
      });
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-ib-client-id': String(this.clientId),
        ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
      });
      res.end(text);
      return;
    }
    if (
      this.holdFeeds &&
      FEEDS.some((p) => url.pathname.startsWith(p)) &&
      (/text\/event-stream/.test(String(req.headers.accept ?? '')) || url.searchParams.get('format') === 'sse')
    ) {
      return this.feed(req, res, record.url);
    }
    if (url.pathname === '/order' && req.method === 'POST') return this.placeOrder(req, res, echo);
    switch (url.searchParams.get('stub')) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow': {
        const done = this.watch(res);
        const answer = (): void => {
          record.answeredAt = Date.now();
          this.json(res, 200, echo);
        };
        const timer = setTimeout(answer, Number(url.searchParams.get('ms') ?? 1000));
        if (!(await done)) clearTimeout(timer);
        return;
      }
      case 'hold': {
        const done = this.watch(res);
        const answer = (): void => this.json(res, 200, echo);
        this.held.push(answer);
        if (!(await done)) {
          const i = this.held.indexOf(answer);
          if (i >= 0) this.held.splice(i, 1);
        }
        return;
      }
      case 'stream': {
        const done = this.watch(res);
        const total = Number(url.searchParams.get('events') ?? 1000);
        const interval = Number(url.searchParams.get('interval') ?? 20);
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          'x-ib-client-id': String(this.clientId),
        });
        this.openStreams += 1;
        let n = 0;
        res.write(`id: ${n}\ndata: ${JSON.stringify({ clientId: this.clientId, n })}\n\n`);
        const timer = setInterval(() => {
          n += 1;
          if (n >= total) {
            clearInterval(timer);
            res.end();
            return;
          }
          res.write(`id: ${n}\ndata: ${JSON.stringify({ clientId: this.clientId, n })}\n\n`);
        }, interval);
        await done;
        clearInterval(timer);
        this.openStreams -= 1;
        return;
      }
      default:
        return this.json(res, 200, echo);
    }
  }

  /** An endless SSE feed (heartbeat comments) held until the caller leaves. */
  private async feed(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const done = this.watch(res);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-ib-client-id': String(this.clientId),
    });
    res.write(`id: 0\ndata: ${JSON.stringify({ clientId: this.clientId, url: req.url })}\n\n`);
    this.openStreams += 1;
    this.feedStreams.set(key, (this.feedStreams.get(key) ?? 0) + 1);
    const timer = setInterval(() => res.write(':hb\n\n'), 200);
    await done;
    clearInterval(timer);
    this.openStreams -= 1;
    const left = (this.feedStreams.get(key) ?? 1) - 1;
    if (left === 0) this.feedStreams.delete(key);
    else this.feedStreams.set(key, left);
  }

  /** `POST /order`: with an `Idempotency-Key` seen before, the first answer again plus `Idempotent-Replayed: true`. */
  private placeOrder(req: IncomingMessage, res: ServerResponse, echo: Record<string, unknown>): void {
    const key = req.headers['idempotency-key'];
    const replay = typeof key === 'string' ? this.idempotent.get(key) : undefined;
    const text = replay ?? JSON.stringify({ ...echo, orderId: ++this.orderSeq });
    if (typeof key === 'string' && replay === undefined) this.idempotent.set(key, text);
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-ib-client-id': String(this.clientId),
      'content-length': Buffer.byteLength(text),
      ...(replay === undefined ? {} : { 'idempotent-replayed': 'true' }),
    });
    res.end(text);
  }
}

const FEEDS = ['/market/', '/bars', '/news', '/fundamental', '/displaygroups', '/order/events'];
