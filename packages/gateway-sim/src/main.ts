#!/usr/bin/env node
import { parseArgs } from 'node:util';
import {
  ConfigError,
  createLogger,
  logListening,
  envEnum,
  envInt,
  envOptionalString,
  envString,
  LOG_LEVELS,
  type LogLevel,
} from '@ibrest/common';
import { startGatewaySim } from './index.js';
import type { RateMode } from './limits/msg-rate.js';
import { seedAccounts } from './engine/accounts.js';

const HELP = `ib-gateway-sim — a simulated IB Gateway speaking the TWS API wire protocol

  --port N                 TCP port (env GATEWAY_SIM_PORT, default 4002; 0 = any free port)
  --host H                 bind address (env GATEWAY_SIM_HOST, default 127.0.0.1)
  --server-version V       highest server version offered, 164-193 (env GATEWAY_SIM_SERVER_VERSION, default 176)
  --seed N                 seed of prices, bars and ids (env GATEWAY_SIM_SEED, default 1)
  --msg-rate N             inbound messages/s before error 100 (env GATEWAY_SIM_MSG_RATE, default 50)
  --rate-mode M            per-client | combined (env GATEWAY_SIM_RATE_MODE, default per-client)
  --market-data-lines N    market-data lines before error 101 (env GATEWAY_SIM_MARKET_DATA_LINES, default 100)
  --depth-books N          market-depth books before error 309 (env GATEWAY_SIM_DEPTH_BOOKS, default 3)
  --fa-master ID           serve an FA login with this master account (env GATEWAY_SIM_FA_MASTER, default off)
  --accounts A,B,...       the login's accounts, each with cash and a position (env GATEWAY_SIM_ACCOUNTS)
  --master-client-id N     TWS's Master API client ID (env GATEWAY_SIM_MASTER_CLIENT_ID, default 0)
  --state-dir D            keep order ids across restarts in D (env GATEWAY_SIM_STATE_DIR, default off)
  --session S              clean | realistic (env GATEWAY_SIM_SESSION, default clean)
  --control-port P         serve the HTTP control API on 127.0.0.1:P (env GATEWAY_SIM_CONTROL_PORT, default off)
  --log-level L            fatal|error|warn|info|debug|trace|silent (env LOG_LEVEL, default info)
  --help                   this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'server-version': { type: 'string' },
      seed: { type: 'string' },
      'msg-rate': { type: 'string' },
      'rate-mode': { type: 'string' },
      'market-data-lines': { type: 'string' },
      'depth-books': { type: 'string' },
      'fa-master': { type: 'string' },
      accounts: { type: 'string' },
      'control-port': { type: 'string' },
      'master-client-id': { type: 'string' },
      'state-dir': { type: 'string' },
      session: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  // Flags win over environment variables; both go through the same validation.
  const env = {
    GATEWAY_SIM_PORT: values.port ?? process.env.GATEWAY_SIM_PORT,
    GATEWAY_SIM_HOST: values.host ?? process.env.GATEWAY_SIM_HOST,
    GATEWAY_SIM_SERVER_VERSION: values['server-version'] ?? process.env.GATEWAY_SIM_SERVER_VERSION,
    GATEWAY_SIM_SEED: values.seed ?? process.env.GATEWAY_SIM_SEED,
    GATEWAY_SIM_MSG_RATE: values['msg-rate'] ?? process.env.GATEWAY_SIM_MSG_RATE,
    GATEWAY_SIM_RATE_MODE: values['rate-mode'] ?? process.env.GATEWAY_SIM_RATE_MODE,
    GATEWAY_SIM_MARKET_DATA_LINES: values['market-data-lines'] ?? process.env.GATEWAY_SIM_MARKET_DATA_LINES,
    GATEWAY_SIM_DEPTH_BOOKS: values['depth-books'] ?? process.env.GATEWAY_SIM_DEPTH_BOOKS,
    GATEWAY_SIM_FA_MASTER: values['fa-master'] ?? process.env.GATEWAY_SIM_FA_MASTER,
    GATEWAY_SIM_ACCOUNTS: values.accounts ?? process.env.GATEWAY_SIM_ACCOUNTS,
    GATEWAY_SIM_CONTROL_PORT: values['control-port'] ?? process.env.GATEWAY_SIM_CONTROL_PORT,
    LOG_LEVEL: values['log-level'] ?? process.env.LOG_LEVEL,
    GATEWAY_SIM_MASTER_CLIENT_ID: values['master-client-id'] ?? process.env.GATEWAY_SIM_MASTER_CLIENT_ID,
    GATEWAY_SIM_STATE_DIR: values['state-dir'] ?? process.env.GATEWAY_SIM_STATE_DIR,
    GATEWAY_SIM_SESSION: values.session ?? process.env.GATEWAY_SIM_SESSION,
  };
  const logLevel: LogLevel = envEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  const log = createLogger('gateway-sim', logLevel);
  const controlPort = envOptionalString(env, 'GATEWAY_SIM_CONTROL_PORT');
  const host = envString(env, 'GATEWAY_SIM_HOST', '127.0.0.1');
  const faMaster = envOptionalString(env, 'GATEWAY_SIM_FA_MASTER');
  const accountIds = envOptionalString(env, 'GATEWAY_SIM_ACCOUNTS')
    ?.split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const running = await startGatewaySim({
    port: envInt(env, 'GATEWAY_SIM_PORT', 4002, { min: 0, max: 65535 }),
    host,
    serverVersion: envInt(env, 'GATEWAY_SIM_SERVER_VERSION', 176, { min: 164, max: 193 }),
    seed: envInt(env, 'GATEWAY_SIM_SEED', 1),
    msgRate: envInt(env, 'GATEWAY_SIM_MSG_RATE', 50, { min: 1 }),
    rateMode: envEnum<RateMode>(env, 'GATEWAY_SIM_RATE_MODE', ['per-client', 'combined'], 'per-client'),
    marketDataLines: envInt(env, 'GATEWAY_SIM_MARKET_DATA_LINES', 100, { min: 0 }),
    depthBooks: envInt(env, 'GATEWAY_SIM_DEPTH_BOOKS', 3, { min: 0 }),
    faAccount: faMaster ? { master: faMaster } : false,
    ...(accountIds !== undefined && accountIds.length > 0 ? { accounts: seedAccounts(accountIds) } : {}),
    masterClientId: envInt(env, 'GATEWAY_SIM_MASTER_CLIENT_ID', 0),
    stateDir: envOptionalString(env, 'GATEWAY_SIM_STATE_DIR'),
    session: envEnum(env, 'GATEWAY_SIM_SESSION', ['clean', 'realistic'] as const, 'clean'),
    controlPort:
      controlPort === undefined ? undefined : envInt(env, 'GATEWAY_SIM_CONTROL_PORT', 0, { min: 0, max: 65535 }),
    logger: log,
  });
  logListening(log, {
    port: running.port,
    host,
    url: `tcp://${host}:${running.port}`,
    serverVersion: running.sim.opts.serverVersion,
    controlPort: running.controlPort,
  });
  if (running.controlPort !== undefined) {
    log.info(
      { port: running.controlPort, host: '127.0.0.1', url: `http://127.0.0.1:${running.controlPort}` },
      'control API listening',
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || (err instanceof Error && err.name === 'GatewaySimConfigError')) {
    process.stderr.write(`ib-gateway-sim: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`ib-gateway-sim: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
