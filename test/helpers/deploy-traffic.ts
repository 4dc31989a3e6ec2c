import { connect, type Socket } from 'node:net';
import { eventually, http } from './eventually.js';

/**
 * Traffic the live dashboard check drives: SSE streams through the proxy, a reader that never reads, and
 * reads of a service's /metrics.
 */

export interface OpenStream {
  status: number;
  /** The first `event:` name received (streams answer only once their first event is there). */
  firstEvent: string;
  close(): void;
}

/**
 * Opens a Server-Sent Events stream and waits for its first event. A refusal (4xx/5xx JSON) is returned
 * with `firstEvent` empty and the connection closed.
 */
export async function openStream(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<OpenStream> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no SSE event from ${url} within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const close = () => abort.abort();
    if (res.status !== 200 || res.body === null) {
      await res.text().catch(() => undefined);
      return { status: res.status, firstEvent: '', close };
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`SSE stream ${url} ended before its first event`);
      text += decoder.decode(value, { stream: true });
      const m = /^event:\s*(\S+)$/m.exec(text);
      if (m !== null) return { status: 200, firstEvent: m[1]!, close };
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An SSE request on a raw socket that never reads what it is sent: once the kernel buffers are full the
 * worker can no longer write, and what arrives for this caller piles up in its bounded buffer.
 */
export async function stalledReader(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Socket> {
  const url = new URL(baseUrl);
  const sock = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => undefined);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n${extra.join('')}\r\n`);
  sock.pause();
  return sock;
}

/** The sum of every sample of `name` in a Prometheus text exposition whose labels contain `match`. */
export function sampleSum(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name || !(m[2] ?? '').includes(match)) continue;
    sum += Number(m[3]);
  }
  return sum;
}

/** GET /metrics of a service (with optional headers), as text. */
export async function metricsText(baseUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await http<string>(`${baseUrl}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  return String(res.body);
}

/** Polls a service's /metrics until the samples of `name` matching `match` add up to more than `above`. */
export async function waitForSample(
  baseUrl: string,
  name: string,
  match: string,
  above: number,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<number> {
  return eventually(
    async () => {
      const value = sampleSum(await metricsText(baseUrl, headers), name, match);
      if (!(value > above)) throw new Error(`${name}${match} is ${value}, not above ${above}`);
      return value;
    },
    timeoutMs,
    100,
  );
}
