#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError, createLogger } from '@ibrest/common';
import { loadConfig } from './config.js';
import { InsecureListenError } from './errors.js';
import { startProxy } from './proxy.js';
import { hashApiKey } from './security/api-keys.js';

const USAGE = `Usage:
  ibrest-proxy [--insecure]        start the proxy (configuration from the environment, see README)
  ibrest-proxy hash-key <key>      print the stored form of an API key (sha256:<hex>) for API_KEYS
  ibrest-proxy hash-key -          same, reading the key from stdin (keeps it out of shell history)
`;

function hashKeyCommand(arg: string | undefined): number {
  const key = arg === '-' ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : arg;
  if (key === undefined || key === '') {
    process.stderr.write(USAGE);
    return 2;
  }
  process.stdout.write(hashApiKey(key) + '\n');
  return 0;
}

async function serve(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => a !== '--insecure');
  if (unknown.length > 0) {
    process.stderr.write(`ibrest-proxy: unknown argument ${JSON.stringify(unknown[0])}\n${USAGE}`);
    process.exit(2);
  }
  let log = createLogger('ibrest-proxy', 'info');
  let proxy;
  try {
    const config = loadConfig(process.env, argv);
    log = createLogger('ibrest-proxy', config.logLevel);
    proxy = await startProxy(config, { logger: log });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InsecureListenError) {
      log.fatal({ code: err instanceof InsecureListenError ? err.code : 'CONFIG' }, err.message);
      process.stderr.write(`ibrest-proxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = proxy;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'hash-key') {
  process.exit(hashKeyCommand(rest[0]));
} else if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(USAGE);
} else {
  serve(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`ibrest-proxy: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
