import { createLogger } from '@ibrest/common';
import { startGatewaySim, type RunningGatewaySim } from '@ibrest/gateway-sim';
import { loadConfig } from '../src/config.js';
import { startWorker, type WorkerHandle } from '../src/worker.js';

export interface Stack {
  sim: RunningGatewaySim;
  worker: WorkerHandle;
  url: string;
  close(): Promise<void>;
}

/** A simulator and one in-process worker on port 0, with short timeouts so faults resolve quickly. */
export async function startStack(env: Record<string, string> = {}, simOptions: Parameters<typeof startGatewaySim>[0] = {}): Promise<Stack> {
  const sim = await startGatewaySim({ port: 0, seed: 7, tickIntervalMs: 0, ...simOptions });
  const config = loadConfig({
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
  const worker = await startWorker(config, { logger: createLogger('test', (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent') });
  try {
    await worker.whenReady(10_000);
  } catch (err) {
    await worker.close();
    await sim.close();
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
    headers: { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string> | undefined) },
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
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
