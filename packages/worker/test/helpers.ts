import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@ibrest/common';
import { startGatewaySim, type RunningGatewaySim } from '@ibrest/gateway-sim';
import { loadConfig } from '../src/config.js';
import { startWorker, type StartOptions, type WorkerHandle } from '../src/worker.js';

/** A fresh directory under the OS temp dir for a worker's DATA_DIR. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'ibrest-worker-'));
}

export interface Stack {
  sim: RunningGatewaySim;
  worker: WorkerHandle;
  url: string;
  close(): Promise<void>;
}

/** A simulator and one in-process worker on port 0, with short timeouts so faults resolve quickly. */
export async function startStack(
  env: Record<string, string> = {},
  simOptions: Parameters<typeof startGatewaySim>[0] = {},
  startOptions: Omit<StartOptions, 'logger'> = {},
): Promise<Stack> {
  const sim = await startGatewaySim({ port: 0, seed: 7, tickIntervalMs: 0, ...simOptions });
  // Each stack gets its own journal / idempotency / audit directory (one writer per directory).
  const dataDir = env.DATA_DIR ?? tempDataDir();
  const config = loadConfig({
    DATA_DIR: dataDir,
    ORDER_DATA_FSYNC: 'false',
    IB_MAINTENANCE_WINDOWS: 'none',
    IB_PORT: String(sim.port),
    IB_CLIENT_ID: '3',
    PORT: '0',
    LOG_LEVEL: 'silent',
    IB_RECONNECT_MIN_MS: '50',
    IB_RECONNECT_MAX_MS: '400',
    IB_SYNC_TIMEOUT_MS: '2000',
    IB_CONNECT_TIMEOUT_MS: '3000',
    REQUEST_TIMEOUT_MS: '5000',
    ...env,
  });
  const worker = await startWorker(config, {
    ...startOptions,
    logger: createLogger('test', (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent'),
  });
  try {
    await worker.whenReady(10_000);
  } catch (err) {
    await worker.close();
    await sim.close();
    if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const stack: Stack = {
    sim,
    worker,
    url: worker.url,
    async close() {
      await worker.close();
      // The simulator may have been replaced by a test (a gateway restart).
      await stack.sim.close();
      if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function http(url: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse> {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    ...rest,
    headers: {
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(rest.headers as Record<string, string> | undefined),
    },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, headers: res.headers, body };
}

/** Polls until `fn` returns a truthy value (or stops throwing); fails after `timeoutMs`. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
