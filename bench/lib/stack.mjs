import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewaySim } from '@ibrest/gateway-sim';
import { mainScript, PROXY_NODE_OPTIONS, waitForOk } from '@ibrest/stack';
import { INSPECTOR_LINE } from './inspector.mjs';
import { pollUntil } from './stats.mjs';

/** Seed account: a realistic handful of positions, so /account/positions is not a one-line answer. */
export const BENCH_ACCOUNTS = [
  {
    id: 'DU1234567',
    cash: 1_000_000,
    positions: [
      { symbol: 'AAPL', quantity: 100, avgPrice: 150 },
      { symbol: 'MSFT', quantity: 50, avgPrice: 380 },
      { symbol: 'SPY', quantity: 200, avgPrice: 480 },
      { symbol: 'TSLA', quantity: -30, avgPrice: 260 },
      { symbol: 'IBM', quantity: 75, avgPrice: 170 },
      { symbol: 'AMZN', quantity: 40, avgPrice: 160 },
    ],
  },
];

export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * One child on a port chosen here. Its stdout/stderr go to a log file, as under a real log driver: the
 * benchmark process never parses the children's (possibly per-request) log lines, so that work is not
 * charged to the shared CPUs twice. (The "listening" line is logged at info, so with LOG_LEVEL=warn the
 * port must be known beforehand anyway.)
 */
function spawnChild(name, pkg, env, dir) {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [mainScript(pkg)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name,
    child,
    pid: child.pid,
    logFile,
    exited,
    tail,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

async function inspectorUrlOf(svc) {
  return pollUntil(
    () => {
      try {
        return (INSPECTOR_LINE.exec(readFileSync(svc.logFile, 'utf8')) ?? [])[1];
      } catch {
        return undefined;
      }
    },
    10_000,
    50,
  );
}

/**
 * The stack on loopback: the simulator in this process (so the benchmark reads its counters), `workers` real
 * worker processes (clientIds 0…n-1) and a real proxy process. `inspect` names the children started with the
 * inspector open (for GC + heap readings); `proxyLogLevel` defaults to the shipped default (info: one access
 * log line per request), workers log at `warn`.
 */
export async function startBenchStack(options = {}) {
  const count = options.workers ?? 8;
  const inspect = new Set(options.inspect ?? []);
  const dir = mkdtempSync(join(tmpdir(), 'ibrest-bench-'));
  // Children get what production gives them (the proxy's V8 heap flags, as `npm start` and the image set them),
  // plus the inspector when a benchmark reads heap-after-GC through it.
  const envFor = (name, production = '') => ({
    NODE_OPTIONS: [production, inspect.has(name) ? '--inspect=127.0.0.1:0' : ''].filter(Boolean).join(' '),
  });
  const sim = await startGatewaySim({ port: 0, accounts: BENCH_ACCOUNTS, ...options.sim });
  const services = [];
  const stopAll = async () => {
    await Promise.all(services.map((s) => s.stop(5_000)));
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const startProxy = async (name, env) => {
    const port = await freePort();
    const svc = spawnChild(
      name,
      '@ibrest/proxy',
      {
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: options.proxyLogLevel ?? 'info',
        DATA_DIR: join(dir, name),
        WORKERS: workers.map((w) => `${w.clientId}=${w.url}`).join(','),
        ...envFor(name, PROXY_NODE_OPTIONS),
        ...options.proxyEnv,
        ...env,
      },
      dir,
    );
    services.push(svc);
    const url = `http://127.0.0.1:${port}`;
    const status = await waitForOk(`${url}/health/ready`, 30_000);
    if (status !== 200) throw new Error(`${name} not ready after 30 s (last status ${status}):\n${svc.tail()}`);
    return {
      name,
      url,
      port,
      pid: svc.pid,
      service: svc,
      inspectorUrl: inspect.has(name) ? await inspectorUrlOf(svc) : undefined,
    };
  };
  let workers = [];
  try {
    workers = await Promise.all(
      Array.from({ length: count }, async (_, clientId) => {
        const name = `worker${clientId}`;
        const port = await freePort();
        const svc = spawnChild(
          name,
          '@ibrest/worker',
          {
            IB_HOST: '127.0.0.1',
            IB_PORT: String(sim.port),
            IB_CLIENT_ID: String(clientId),
            HOST: '127.0.0.1',
            PORT: String(port),
            LOG_LEVEL: options.workerLogLevel ?? 'warn',
            DATA_DIR: join(dir, name),
            ...envFor(name),
            ...options.workerEnv,
          },
          dir,
        );
        services.push(svc);
        return { clientId, name, port, url: `http://127.0.0.1:${port}`, pid: svc.pid, service: svc };
      }),
    );
    await Promise.all(
      workers.map(async (w) => {
        const status = await waitForOk(`${w.url}/health/ready`, 30_000);
        if (status !== 200)
          throw new Error(`${w.name} not ready after 30 s (last status ${status}):\n${w.service.tail()}`);
        if (inspect.has(w.name)) w.inspectorUrl = await inspectorUrlOf(w.service);
      }),
    );
    const proxy = await startProxy('proxy', {});
    return { sim, workers, proxy, dir, startProxy, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
