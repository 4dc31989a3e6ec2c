#!/usr/bin/env node
// Container health probe for the worker and proxy images (slim images have no curl or wget).
//
//   node healthcheck.mjs <path> <default-port>
//
// <default-port> is a number, or `worker` for the worker's own default (5000 + IB_CLIENT_ID). PORT
// overrides it, as it does for the service itself. The probe asks over plain HTTP and over HTTPS at the
// same time and passes on the first 2xx: the proxy serves TLS whenever it has a certificate (often its own
// self-signed one, which cannot be verified here), workers serve plain HTTP. Exit 0 = healthy, 1 = not.
import http from 'node:http';
import https from 'node:https';

const TIMEOUT_MS = 2500;

function fail(message) {
  process.stderr.write(`healthcheck: ${message}\n`);
  process.exit(1);
}

const [path = '/health/live', defaultPortArg = '8080'] = process.argv.slice(2);
if (!path.startsWith('/')) fail(`expected a path starting with "/", got ${JSON.stringify(path)}`);

function defaultPort() {
  if (defaultPortArg !== 'worker') return Number(defaultPortArg);
  const clientId = Number(process.env.IB_CLIENT_ID?.trim() || '0');
  return 5000 + clientId;
}

const port = Number(process.env.PORT?.trim() || defaultPort());
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  fail(`expected PORT to be an integer from 1 to 65535, got ${JSON.stringify(process.env.PORT ?? defaultPortArg)}`);
}

// A wildcard listen address is reachable on loopback; a specific one (HOST=10.0.0.5) only on itself.
const listenHost = process.env.HOST?.trim() || '127.0.0.1';
const host = ['0.0.0.0', '::', '[::]', ''].includes(listenHost) ? '127.0.0.1' : listenHost.replace(/^\[|\]$/g, '');

function probe(client, extra) {
  return new Promise((resolve, reject) => {
    const req = client.get({ host, port, path, timeout: TIMEOUT_MS, ...extra }, (res) => {
      res.resume();
      if (res.statusCode >= 200 && res.statusCode < 300) resolve(res.statusCode);
      else reject(new Error(`${path} answered ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

try {
  await Promise.any([probe(http), probe(https, { rejectUnauthorized: false })]);
  process.exit(0);
} catch (err) {
  const reasons = err instanceof AggregateError ? err.errors.map((e) => e.message) : [String(err)];
  fail(`${host}:${port}${path}: ${[...new Set(reasons)].join('; ')}`);
}
