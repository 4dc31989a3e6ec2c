import http from 'node:http';
import https from 'node:https';
import { createLogger } from '@ibrest/common';
import {
  configWithDefaults,
  startProxy,
  type ProxyConfig,
  type RunningProxy,
  type StartOptions,
} from '../src/index.js';
import { StubWorker } from './stub-worker.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body; untyped on purpose, tests read whichever fields the route under test returns. */
  json: any;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent | false;
  ca?: string;
}

/** One HTTP(S) request; resolves with the whole answer. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: options.method ?? 'GET',
        headers: {
          ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
        agent: options.agent ?? false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `check` until it returns truthy (no fixed sleeps); fails with the last value after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline)
      throw new Error(`${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Stack {
  proxy: RunningProxy;
  stubs: StubWorker[];
  url: string;
  close(): Promise<void>;
}

export const silent = createLogger('test', 'silent');

/** Stub workers 0..n-1 and a proxy in front of them, all on port 0, waiting until every stub is in rotation. */
export async function startStack(
  n: number,
  overrides: Partial<ProxyConfig> = {},
  options: Omit<StartOptions, 'logger'> = {},
): Promise<Stack> {
  const stubs = await Promise.all(Array.from({ length: n }, (_, i) => StubWorker.start(i)));
  const config = configWithDefaults({
    port: 0,
    workers: stubs.map((s) => ({ clientId: s.clientId, url: new URL(s.url) })),
    health: { intervalMs: 200, downIntervalMs: 50, timeoutMs: 500 },
    ...overrides,
  });
  const proxy = await startProxy(config, { logger: silent, ...options });
  await eventually(() => proxy.pool.all().every((w) => w.up), 3000, 'all stubs up');
  return {
    proxy,
    stubs,
    url: proxy.url,
    async close() {
      await proxy.close();
      await Promise.all(stubs.map((s) => s.close()));
    },
  };
}

export interface OpenStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body text received so far. */
  received(): string;
  /** Resolves once the response has closed on this side. */
  close(): Promise<void>;
}

/**
 * Opens a streaming GET and resolves as soon as the status line arrives, leaving the stream open. A refused
 * stream (any other status) resolves once its whole body is in `received()`.
 */
export function openStream(
  url: string,
  headers: Record<string, string> = { accept: 'text/event-stream' },
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('error', () => undefined);
      const closed = new Promise<void>((r) => res.once('close', () => r()));
      const stream: OpenStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        received: () => text,
        close: async () => {
          req.destroy();
          await closed;
        },
      };
      // A refusal is a whole JSON answer: hand it over complete.
      if (res.statusCode === 200) resolve(stream);
      else res.once('end', () => resolve(stream));
    });
    req.on('error', reject);
  });
}

/** Sum of one metric's values whose labels match. */
export async function metricValue(
  proxy: RunningProxy,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await proxy.metrics.registries.app.getSingleMetric(name)!.get();
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((n, v) => n + v.value, 0);
}
