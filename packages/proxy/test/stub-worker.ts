import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
}

export class StubWorker {
  readonly requests: StubRequest[] = [];
  ready = true;
  /** Connections accepted since start. */
  connections = 0;
  /** Slow/stream/hold requests whose client (the proxy) closed before the stub finished. */
  closedEarly = 0;
  completed = 0;
  /** Open SSE streams right now. */
  openStreams = 0;
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

  /** Requests currently parked on `/hold`. */
  get holding(): number {
    return this.held.length;
  }

  static async start(clientId: number): Promise<StubWorker> {
    const stub = new StubWorker(clientId);
    await stub.listen(0);
    return stub;
  }

  /** Answers every parked `/hold` request. */
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
    res.writeHead(status, { 'content-type': 'application/json', 'x-ib-client-id': String(this.clientId), 'content-length': Buffer.byteLength(text) });
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
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://stub');
    if (url.pathname === '/health/ready') {
      return this.json(res, this.ready ? 200 : 503, { status: this.ready ? 'ready' : 'disconnected', clientId: this.clientId });
    }
    if (url.pathname === '/health/live') return this.json(res, 200, { status: 'ok' });
    const record: StubRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), socketId: this.socketIds.get(req.socket) ?? 0 };
    this.requests.push(record);
    const echo = { clientId: this.clientId, method: record.method, url: record.url, headers: record.headers, body: record.body };
    switch (url.pathname) {
      case '/reset':
        req.socket.destroy();
        return;
      case '/slow': {
        const done = this.watch(res);
        const timer = setTimeout(() => this.json(res, 200, echo), Number(url.searchParams.get('ms') ?? 1000));
        if (!(await done)) clearTimeout(timer);
        return;
      }
      case '/hold': {
        const done = this.watch(res);
        const answer = (): void => this.json(res, 200, echo);
        this.held.push(answer);
        if (!(await done)) {
          const i = this.held.indexOf(answer);
          if (i >= 0) this.held.splice(i, 1);
        }
        return;
      }
      case '/stream': {
        const done = this.watch(res);
        const total = Number(url.searchParams.get('events') ?? 1000);
        const interval = Number(url.searchParams.get('interval') ?? 20);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-ib-client-id': String(this.clientId) });
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
}
