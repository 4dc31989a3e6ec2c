import type { IncomingMessage, ServerResponse } from 'node:http';

/** One Server-Sent Event. `data` that is not a string is sent as JSON. */
export interface SseEvent {
  id?: string | number;
  event?: string;
  data: unknown;
}

export interface SseOptions {
  /** Interval of `: heartbeat` comments that keep proxies and clients from timing out an idle stream. */
  heartbeatMs: number;
  /** Reconnection delay suggested to EventSource clients (`retry:` field). @default 2000 */
  retryMs?: number;
  /** Extra response headers (X-Request-Id is already set by the app). */
  headers?: Record<string, string>;
}

/** Default of FEED_HEARTBEAT_MS. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** `Last-Event-ID` of a reconnecting EventSource (trimmed; absent or empty → undefined). */
export function parseLastEventId(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['last-event-id'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Field values must not break the line framing: CR/LF would start a new field. */
function oneLine(value: string | number): string {
  return String(value).replace(/[\r\n]+/g, ' ');
}

/** The wire form of one event: `id:`/`event:` lines, one `data:` line per line of the payload, blank line. */
export function formatSseEvent(e: SseEvent): string {
  let out = '';
  if (e.id !== undefined) out += `id: ${oneLine(e.id)}\n`;
  if (e.event !== undefined) out += `event: ${oneLine(e.event)}\n`;
  const payload = typeof e.data === 'string' ? e.data : JSON.stringify(e.data ?? null);
  for (const line of payload.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * An open `text/event-stream` response. Each event is written at once (no compression, no buffering
 * proxies: `X-Accel-Buffering: no`, `Cache-Control: no-transform`); a heartbeat comment goes out every
 * `heartbeatMs`. Writers check `ready` before writing so that a slow reader's backlog stays in the
 * caller's bounded feed buffer rather than in the socket's unbounded one; `onDrain` says when to resume.
 * Closing (by the client or by `close()`) stops the heartbeat and runs the `onClose` callbacks once.
 */
export class SseStream {
  readonly lastEventId: string | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closeCallbacks: (() => void)[] = [];
  private isClosed = false;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    options: SseOptions,
  ) {
    this.lastEventId = parseLastEventId(req.headers);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v);
    // Small event frames must not wait for Nagle's algorithm.
    req.socket.setNoDelay(true);
    res.flushHeaders();
    res.write(`retry: ${options.retryMs ?? 2000}\n\n`);
    this.heartbeat = setInterval(() => this.comment('heartbeat'), options.heartbeatMs);
    this.heartbeat.unref();
    res.on('close', () => this.finish());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True while the socket accepts more without buffering in memory (no pending drain). */
  get ready(): boolean {
    return !this.isClosed && !this.res.writableNeedDrain;
  }

  /** Writes one event now; returns `ready` afterwards. */
  send(e: SseEvent): boolean {
    if (this.isClosed) return false;
    this.res.write(formatSseEvent(e));
    return this.ready;
  }

  /** A comment line (ignored by EventSource); used for heartbeats. */
  comment(text: string): void {
    if (this.isClosed) return;
    this.res.write(`: ${oneLine(text)}\n\n`);
  }

  onDrain(fn: () => void): void {
    this.res.once('drain', fn);
  }

  onClose(fn: () => void): void {
    if (this.isClosed) fn();
    else this.closeCallbacks.push(fn);
  }

  /** Ends the response (the client sees the stream finish). */
  close(): void {
    if (this.isClosed) return;
    this.res.end();
    this.finish();
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.heartbeat);
    for (const fn of this.closeCallbacks.splice(0)) fn();
  }
}
