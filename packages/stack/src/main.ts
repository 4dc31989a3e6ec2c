#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '@ibrest/common';
import { loadStackConfig, PROXY_NODE_OPTIONS, workerMsgRate, type StackConfig } from './config.js';
import { mainScript } from './paths.js';
import { waitForOk, type RunningService, type ServiceSpec } from './service.js';
import { Supervised } from './supervisor.js';

/**
 * `npm start`: the whole stack on one machine. Starts the simulated gateway (unless IB_HOST/IB_PORT name a
 * real one), eight workers (clientIds 0–7) and the proxy as supervised child processes, prints one line per
 * component when it is ready, and shuts everything down on SIGINT/SIGTERM.
 */
const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function logSink(config: StackConfig, name: string): (line: string) => void {
  const file: WriteStream = createWriteStream(join(config.logDir, `${name}.log`), { flags: 'a' });
  return (line) => {
    file.write(`${line}\n`);
    // Only problems reach the terminal; everything is in the log file.
    if (!line.startsWith('{')) return;
    try {
      const rec = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      const level = LEVELS[rec.level ?? 0];
      if (level) say(`[${name}] ${level}: ${rec.msg ?? ''}${rec.err?.message ? ` (${rec.err.message})` : ''}`);
    } catch {
      // partial or non-JSON line: kept in the file only
    }
  };
}

function supervise(config: StackConfig, spec: Omit<ServiceSpec, 'onLine'>): Supervised {
  const sink = logSink(config, spec.name);
  return new Supervised({
    spec: { ...spec, onLine: sink },
    onStart: (_svc, attempt) => {
      if (attempt > 1) say(`[${spec.name}] restarted (attempt ${attempt})`);
    },
    onExit: (code, restartInMs) =>
      say(`[${spec.name}] exited (${code}); restarting in ${Math.round((restartInMs ?? 0) / 1000)} s`),
  });
}

async function announce(
  name: string,
  svc: RunningService,
  readyPath: string | undefined,
  what: string,
): Promise<string> {
  const { port, url } = await svc.listening;
  const base = url ?? `http://127.0.0.1:${port}`;
  if (readyPath === undefined) {
    say(`✓ ${name.padEnd(12)} ${base.padEnd(24)} ${what}`);
    return base;
  }
  const status = await waitForOk(`${base}${readyPath}`, 30_000);
  const mark = status === 200 ? '✓' : '…';
  const note = status === 200 ? what : `${what} — not ready yet (${readyPath} answers ${status || 'nothing'})`;
  say(`${mark} ${name.padEnd(12)} ${base.padEnd(24)} ${note}`);
  return base;
}

async function main(): Promise<void> {
  let config: StackConfig;
  try {
    config = loadStackConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ibrest: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  mkdirSync(config.logDir, { recursive: true });
  const all: Supervised[] = [];
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`\n${signal}: stopping ${all.length} processes…`);
    await Promise.all([...all].reverse().map((s) => s.stop(10_000)));
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let ib = config.gateway;
  if (ib === undefined) {
    const sim = supervise(config, {
      name: 'gateway-sim',
      script: mainScript('@ibrest/gateway-sim'),
      args: [
        '--port',
        String(config.simPort),
        '--host',
        '127.0.0.1',
        '--server-version',
        String(config.simServerVersion),
        '--rate-mode',
        config.rateMode,
        '--log-level',
        config.logLevel,
      ],
    });
    all.push(sim);
    const svc = sim.start();
    const { port } = await svc.listening;
    ib = { host: '127.0.0.1', port };
    say(
      `✓ ${'gateway-sim'.padEnd(12)} ${`127.0.0.1:${port}`.padEnd(24)} ` +
        `simulated IB Gateway (server version ${config.simServerVersion}); set IB_HOST/IB_PORT for a real one`,
    );
  } else {
    say(`• ${'gateway'.padEnd(12)} ${`${ib.host}:${ib.port}`.padEnd(24)} real TWS / IB Gateway`);
  }

  // IB's daily/weekly maintenance windows mean nothing to the simulator: switch them off unless set.
  const maintenance: Record<string, string> =
    config.gateway === undefined && process.env.IB_MAINTENANCE_WINDOWS === undefined
      ? { IB_MAINTENANCE_WINDOWS: 'none' }
      : {};
  const rate = workerMsgRate(config);
  // One shared secret per run: workers refuse what the proxy did not vouch for. An operator's own token wins.
  const token: Record<string, string> =
    process.env.IBREST_INTERNAL_TOKEN === undefined && process.env.IBREST_INTERNAL_TOKEN_FILE === undefined
      ? { IBREST_INTERNAL_TOKEN: randomBytes(32).toString('base64url') }
      : {};
  const workers = Array.from({ length: config.workers }, (_, clientId) => {
    const port = config.workerBasePort === 0 ? 0 : config.workerBasePort + clientId;
    const w = supervise(config, {
      name: `worker${clientId}`,
      script: mainScript('@ibrest/worker'),
      env: {
        IB_HOST: ib.host,
        IB_PORT: String(ib.port),
        IB_CLIENT_ID: String(clientId),
        HOST: '127.0.0.1',
        PORT: String(port),
        IB_MSG_RATE: String(rate),
        LOG_LEVEL: config.logLevel,
        DATA_DIR: resolve(config.dataDir, `worker${clientId}`),
        ...maintenance,
        ...token,
      },
    });
    all.push(w);
    return { clientId, w, svc: w.start() };
  });
  const urls = await Promise.all(
    workers.map(({ clientId, svc }) =>
      announce(
        `worker${clientId}`,
        svc,
        '/health/ready',
        `clientId ${clientId}, ${rate} msg/s${clientId === 0 ? ', order operations' : ''}`,
      ),
    ),
  );

  const proxy = supervise(config, {
    name: 'proxy',
    script: mainScript('@ibrest/proxy'),
    env: {
      HOST: config.host,
      PORT: String(config.proxyPort),
      LOG_LEVEL: config.logLevel,
      WORKERS: urls.map((url, clientId) => `${clientId}=${url}`).join(','),
      DATA_DIR: resolve(config.dataDir, 'proxy'),
      ...maintenance,
      ...token,
      // The operator's own NODE_OPTIONS come last, so any of their V8 flags wins over ours.
      NODE_OPTIONS: [PROXY_NODE_OPTIONS, process.env.NODE_OPTIONS].filter((o) => o !== undefined && o !== '').join(' '),
    },
  });
  all.push(proxy);
  const proxyUrl = await announce('proxy', proxy.start(), '/health/ready', 'the entry point');
  say('');
  say(`ibrest is up. Logs: ${resolve(config.logDir)}. Try:`);
  say(`  curl ${proxyUrl}/account/positions`);
  say(`  curl "${proxyUrl}/contract?symbol=AAPL&secType=STK"`);
  say(`  curl -X POST ${proxyUrl}/order -H 'Content-Type: application/json' \\`);
  say(
    `    -d '{"contract":{"symbol":"AAPL","secType":"STK","exchange":"SMART","currency":"USD"},` +
      `"order":{"action":"BUY","orderType":"MKT","totalQuantity":10}}'`,
  );
  say('Press Ctrl-C to stop.');
}

main().catch((err: unknown) => {
  process.stderr.write(`ibrest: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
