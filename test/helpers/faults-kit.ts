import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { mainScript, startService, waitForOk, type RunningService } from '@ibrest/stack';
import type { Stack } from './stack.js';
import { checkResponse } from './openapi.js';

/**
 * Shared pieces of the fault suite (test/faults-*.test.ts): bounded load lanes, outcome tallies, raw HTTP
 * requests, figures printed for docs/reliability.md, process probes and a proxy restart on its old port.
 */

/** Maintenance windows off: the suite must behave the same at any hour (the default window is IB's nightly reset). */
export const NO_WINDOWS = { IB_MAINTENANCE_WINDOWS: 'none' } as const;

export const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
export const SYMBOLS = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN'] as const;

export const mktOrder = (qty = 1) => ({
  contract: AAPL,
  order: { action: 'BUY', orderType: 'MKT', totalQuantity: qty },
});

/**
 * One JSON line per scenario, `FAULT_FIGURES {...}`, so the numbers quoted in docs/reliability.md can be
 * read straight from a test run (`node --test test/dist/faults-*.test.js | grep FAULT_FIGURES`).
 */
export function printFigures(scenario: string, figures: Record<string, unknown>): void {
  console.log(`FAULT_FIGURES ${JSON.stringify({ scenario, ...figures })}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json?: any;
}

export interface RawRequest {
  method?: string;
  /** The request target exactly as written on the request line (not normalised, unlike fetch). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  agent?: Agent;
}

/**
 * A request with node:http: any method token, any target, any body, and a hard timeout. Rejects on
 * network errors (refused, reset, timeout) so callers can count them apart from HTTP answers.
 */
export function rawRequest(base: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = Buffer.byteLength(r.body);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: r.method ?? 'GET',
        path: r.path,
        headers,
        ...(r.agent ? { agent: r.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON
          }
          const response = { status: res.statusCode ?? 0, headers: res.headers, text, json };
          // Checked against the proxy's OpenAPI document when `base` is a registered proxy.
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          const checked = checkResponse(url.origin + r.path, r.method ?? 'GET', response.status, h, json);
          checked.then(() => resolve(response), reject);
        });
      },
    );
    req.setTimeout(r.timeoutMs ?? 15_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Counts outcomes by category; `first`/`last` keep when each category was first and last seen. */
export class Tally {
  readonly counts: Record<string, number> = {};
  readonly first: Record<string, number> = {};
  readonly last: Record<string, number> = {};
  readonly examples: Record<string, string> = {};

  add(category: string, example?: string): void {
    const now = Date.now();
    this.counts[category] = (this.counts[category] ?? 0) + 1;
    this.first[category] ??= now;
    this.last[category] = now;
    if (example !== undefined) this.examples[category] ??= example;
  }

  get(category: string): number {
    return this.counts[category] ?? 0;
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

/**
 * How the fault suite classifies an answer: `ok` (2xx), `503` (with a Retry-After of at least 1 s), and
 * everything else by status, so an assertion can demand that nothing but those two ever happened.
 */
export function classify(res: RawResponse): string {
  if (res.status >= 200 && res.status < 300) return 'ok';
  if (res.status === 503) return Number(res.headers['retry-after']) >= 1 ? '503' : '503-without-retry-after';
  return `http-${res.status}`;
}

/**
 * Runs `lanes` sequential loops until `stop()` says so (checked before every iteration) and at most
 * `maxIterations` per lane: bounded load with a known concurrency.
 */
export async function runLanes(
  lanes: number,
  body: (lane: number, i: number) => Promise<void>,
  o: { stop: () => boolean; maxIterations: number; pauseMs?: number },
): Promise<void> {
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; i < o.maxIterations && !o.stop(); i++) {
        await body(lane, i);
        if (o.pauseMs) await sleep(o.pauseMs);
      }
    }),
  );
}

/** Sum of every sample of a metric family in Prometheus text (optionally only samples whose labels include `match`). */
export function metricSum(text: string, name: string, match?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (match !== undefined && !rest.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** `ik1-` + the first 24 hex digits of SHA-256(key): the orderRef the worker stamps (packages/order-safety README). */
export function orderRefForKey(key: string): string {
  return `ik1-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/** Polls until `probe` is true; returns the milliseconds it took, or throws after `timeoutMs`. */
export async function timeUntil(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      if (await probe()) return Date.now() - start;
    } catch {
      // not yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** True when the proxy says it is ready and every worker of the stack is up in its pool view. */
export async function poolFullyUp(proxyUrl: string, workers: number): Promise<boolean> {
  const ready = await rawRequest(proxyUrl, { path: '/health/ready', timeoutMs: 2_000 });
  if (ready.status !== 200) return false;
  const clients = await rawRequest(proxyUrl, { path: '/clients', timeoutMs: 2_000 });
  const list = (clients.json?.clients ?? []) as Array<{ up: boolean }>;
  return list.length === workers && list.every((w) => w.up);
}

/**
 * Starts a new proxy process on the port the stack's proxy had (after it was killed), with the same
 * environment the stack helper gives it. The caller stops the returned service.
 */
export async function restartProxy(
  stack: Stack,
  port: number,
  proxyEnv: Record<string, string> = {},
): Promise<RunningService> {
  const service = startService({
    name: 'proxy',
    script: mainScript('@ibrest/proxy'),
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATA_DIR: join(stack.dataDir, 'proxy'),
      WORKERS: stack.workers.map((w) => `${w.clientId}=${w.url}`).join(','),
      ...stack.tokenEnv,
      ...proxyEnv,
    },
  });
  await service.listening;
  const status = await waitForOk(`http://127.0.0.1:${port}/health/ready`, 30_000);
  if (status !== 200) throw new Error(`restarted proxy not ready (last status ${status})`);
  return service;
}

/** The percentile `p` (0–100) of a list of numbers (nearest rank); 0 for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface SseEvent {
  event: string;
  data: any;
  at: number;
}

export interface SseStream {
  status: number;
  events: SseEvent[];
  /** Resolves with the first event (at or after index `from`) matching `pred`. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs: number, from?: number): Promise<SseEvent>;
  close(): void;
}

/** Opens a Server-Sent Events stream and collects its events (comments and `retry:` lines skipped). */
export function openSse(base: string, path: string): Promise<SseStream> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const waiters = new Set<() => void>();
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream' } },
      (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (data.length === 0) continue;
            let parsed: unknown = data.join('\n');
            try {
              parsed = JSON.parse(parsed as string);
            } catch {
              // plain text data
            }
            events.push({ event, data: parsed, at: Date.now() });
            for (const w of [...waiters]) w();
          }
        });
        res.on('error', () => undefined);
        resolve({
          status: res.statusCode ?? 0,
          events,
          waitFor(pred, timeoutMs, from = 0) {
            return new Promise((ok, fail) => {
              const check = () => {
                const hit = events.slice(from).find(pred);
                if (hit === undefined) return false;
                clearTimeout(timer);
                waiters.delete(onEvent);
                ok(hit);
                return true;
              };
              const onEvent = () => void check();
              const timer = setTimeout(() => {
                waiters.delete(onEvent);
                fail(
                  new Error(
                    `no matching event within ${timeoutMs} ms; got ${events
                      .slice(from)
                      .map((e) => e.event)
                      .join(',')}`,
                  ),
                );
              }, timeoutMs);
              if (!check()) waiters.add(onEvent);
            });
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
