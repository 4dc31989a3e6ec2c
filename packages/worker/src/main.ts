#!/usr/bin/env node
import { ConfigError, createLogger, logListening } from '@ibrest/common';
import { loadConfig } from './config.js';
import { startWorker } from './worker.js';

/** Process entry: validate env, start, log "listening", stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    // `--insecure` is the command-line spelling of IBREST_INSECURE=true (as for the proxy).
    config = loadConfig(
      process.argv.includes('--insecure') ? { ...process.env, IBREST_INSECURE: 'true' } : process.env,
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ibrest-worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger('ibrest-worker', config.logLevel);
  const worker = await startWorker(config, { logger: log });
  logListening(log, {
    port: worker.port,
    host: worker.host,
    url: worker.url,
    clientId: config.clientId,
    ib: `${config.ibHost}:${config.ibPort}`,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    worker.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`ibrest-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
