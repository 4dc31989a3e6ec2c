import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewaySim } from '@ibrest/gateway-sim';
import { mainScript, startService, waitForOk, type RunningService } from '@ibrest/stack';
import { registerProxy, unregisterProxy } from './openapi.js';

type Sim = Awaited<ReturnType<typeof startGatewaySim>>;
type SimOptions = Parameters<typeof startGatewaySim>[0];

export interface WorkerHandle {
  clientId: number;
  url: string;
  port: number;
  service: RunningService;
  /** SIGKILL the process (as a crash would). */
  kill(): Promise<void>;
  /** Start it again on the same port; resolves when it is listening. */
  restart(): Promise<void>;
}

export interface Stack {
  /** The simulator the workers talk to; `freshGateway` replaces it. */
  sim: Sim;
  proxyUrl: string;
  proxy: RunningService;
  workers: WorkerHandle[];
  dataDir: string;
  /** SIGKILL the proxy at once (as a crash would); resolves when it is gone. */
  killProxy(): Promise<void>;
  /** Headers a direct call to a worker needs (the proxy token, unless `internalToken: false`). */
  workerHeaders: Record<string, string>;
  /** Environment that gives another proxy started by a test the same token (empty with `internalToken: false`). */
  tokenEnv: Record<string, string>;
  stop(): Promise<void>;
}

export interface StackOptions {
  workers?: number;
  sim?: SimOptions;
  workerEnv?: Record<string, string>;
  /** Environment of one worker on top of `workerEnv` (e.g. its own DATA_DIR). */
  workerEnvFor?: (clientId: number) => Record<string, string>;
  proxyEnv?: Record<string, string>;
  /** Wait for every worker and the proxy to report ready (default true). */
  waitReady?: boolean;
  /**
   * Run with a shared proxy token, as `npm start` and compose always do: workers refuse requests that do not
   * carry it. Direct calls to a worker add `stack.workerHeaders`; another proxy takes `stack.tokenEnv`.
   * @default true
   */
  internalToken?: boolean;
  /** Log level of the children (default 'warn': keeps test output readable). */
  logLevel?: string;
}

/**
 * The simulator's session in the end-to-end suite: IB's realistic noise (inactive farms, farm flaps, link blips,
 * duplicate statuses, fills without Filled). A suite that needs a clean session passes `sim: { session: 'clean' }`.
 */
export const SIM_SESSION: 'clean' | 'realistic' = 'realistic';

/**
 * The whole stack on port 0: the simulator in this process (so tests hold its control API), real worker
 * processes (clientIds 0…n-1) and a real proxy process. Children's stderr and warn+ lines are echoed when
 * IBREST_TEST_VERBOSE is set.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const count = options.workers ?? 8;
  const logLevel = options.logLevel ?? 'warn';
  const dataDir = mkdtempSync(join(tmpdir(), 'ibrest-e2e-'));
  const verbose = process.env.IBREST_TEST_VERBOSE !== undefined;
  const onLine = (name: string) => (line: string) => {
    if (verbose) process.stderr.write(`[${name}] ${line}\n`);
  };
  const sim = await startGatewaySim({ port: 0, session: SIM_SESSION, ...options.sim });
  const token = options.internalToken !== false ? randomBytes(32).toString('base64url') : undefined;
  const tokenEnv: Record<string, string> = token === undefined ? {} : { IBREST_INTERNAL_TOKEN: token };

  // A child that dies without the test asking (a crash) is reported with its last output: a later assertion that
  // finds its port refusing connections then has its cause beside it.
  const expected = new Set<RunningService>();
  const watch = (service: RunningService): RunningService => {
    void service.exited.then((code) => {
      if (expected.has(service)) return;
      process.stderr.write(
        `[stack] ${service.name} exited (${code}) without being stopped; last output:\n` +
          `${service.lastLines().join('\n')}\n`,
      );
    });
    return service;
  };
  const spawnWorker = (clientId: number, port: number): RunningService =>
    watch(
      startService({
        name: `worker${clientId}`,
        script: mainScript('@ibrest/worker'),
        env: {
          IB_HOST: '127.0.0.1',
          IB_PORT: String(sim.port),
          IB_CLIENT_ID: String(clientId),
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: logLevel,
          DATA_DIR: join(dataDir, `worker${clientId}`),
          IB_MAINTENANCE_WINDOWS: 'none',
          ...tokenEnv,
          ...options.workerEnv,
          ...options.workerEnvFor?.(clientId),
        },
        onLine: onLine(`worker${clientId}`),
      }),
    );

  const workers: WorkerHandle[] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, async (_, clientId) => {
        const service = spawnWorker(clientId, 0);
        const { port } = await service.listening;
        const handle: WorkerHandle = {
          clientId,
          port,
          service,
          url: `http://127.0.0.1:${port}`,
          async kill() {
            expected.add(handle.service);
            handle.service.kill('SIGKILL');
            await handle.service.exited;
          },
          async restart() {
            handle.service = spawnWorker(clientId, handle.port);
            await handle.service.listening;
          },
        };
        workers[clientId] = handle;
      }),
    );
    if (options.waitReady !== false) {
      await Promise.all(
        workers.map(async (w) => {
          const status = await waitForOk(`${w.url}/health/ready`, 30_000);
          if (status !== 200) throw new Error(`worker${w.clientId} not ready after 30 s (last status ${status})`);
        }),
      );
    }
    const proxy = watch(
      startService({
        name: 'proxy',
        script: mainScript('@ibrest/proxy'),
        env: {
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: logLevel,
          DATA_DIR: join(dataDir, 'proxy'),
          WORKERS: workers.map((w) => `${w.clientId}=${w.url}`).join(','),
          IB_MAINTENANCE_WINDOWS: 'none',
          ...tokenEnv,
          ...options.proxyEnv,
        },
        onLine: onLine('proxy'),
      }),
    );
    const listening = await proxy.listening;
    const proxyUrl = listening.url ?? `http://127.0.0.1:${listening.port}`;
    if (options.waitReady !== false) {
      const status = await waitForOk(`${proxyUrl}/health/ready`, 30_000);
      if (status !== 200) throw new Error(`proxy not ready after 30 s (last status ${status})`);
    }
    // Every answer of this proxy through `http()` is checked against its OpenAPI document from now on.
    registerProxy(proxyUrl);
    return {
      sim,
      proxyUrl,
      proxy,
      workers,
      dataDir,
      workerHeaders: token === undefined ? {} : { 'x-ibrest-proxy-token': token },
      tokenEnv,
      killProxy(this: Stack) {
        expected.add(this.proxy);
        this.proxy.kill('SIGKILL');
        return this.proxy.exited.then(() => undefined);
      },
      async stop(this: Stack) {
        unregisterProxy(proxyUrl);
        for (const service of [this.proxy, ...workers.map((w) => w.service)]) expected.add(service);
        await Promise.all([this.proxy.stop(5_000), ...workers.map((w) => w.service.stop(5_000))]);
        // A test may have replaced the simulator (a gateway restarted with a fresh state).
        await this.sim.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const w of workers.filter(Boolean)) expected.add(w.service);
    await Promise.all(workers.filter(Boolean).map((w) => w.service.stop(2_000)));
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The gateway restarts with a fresh state on the same port (a container restart, or TWS's "Reset API order
 * ID sequence"): no orders, order ids from 1 again. Resolves once the new simulator listens.
 */
export async function freshGateway(stack: Stack, options: SimOptions = {}): Promise<void> {
  const port = stack.sim.port;
  await stack.sim.close();
  stack.sim = await startGatewaySim({ ...options, port });
}
