#!/usr/bin/env node
/**
 * Stalled uploads against the proxy: `node bench/uploads.mjs [--connections 800] [--bytes 1040000]`.
 *
 * Starts one proxy process (PROXY_NODE_OPTIONS, as `npm start` runs it), measures its RSS at rest, then opens
 * N connections that each declare a body of just under 1 MiB, send almost all of it and stall. Reports the
 * proxy's peak RSS against its own RSS at rest (the reference in the same run) and against the documented
 * bound: RSS at rest + MAX_BODY_BYTES_IN_FLIGHT + N × per-connection allowance. Exits 1 past the bound.
 * Results go to bench/results/uploads.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mainScript, PROXY_NODE_OPTIONS, waitForOk } from '@ibrest/stack';
import { freePort } from './lib/stack.mjs';
import { rssBytes } from './lib/proc.mjs';

const MB = 1024 * 1024;
const HERE = dirname(fileURLToPath(import.meta.url));
/** The documented per-connection allowance (socket, parser, request objects, kernel-side buffers counted in RSS). */
const PER_CONNECTION = 64 * 1024;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const connections = arg('connections', 800);
const declared = arg('bytes', 1_040_000);
const budget = arg('budget-mb', 32) * MB;

const dir = mkdtempSync(join(tmpdir(), 'ibrest-uploads-'));
const port = await freePort();
const proxy = spawn(process.execPath, [mainScript('@ibrest/proxy')], {
  env: {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dir, 'proxy'),
    WORKERS: '0=http://127.0.0.1:9',
    IB_MAINTENANCE_WINDOWS: 'none',
    MAX_BODY_BYTES_IN_FLIGHT: String(budget),
    CLIENT_BODY_TIMEOUT_MS: '60000',
    CLIENT_REQUEST_TIMEOUT_MS: '120000',
    NODE_OPTIONS: PROXY_NODE_OPTIONS,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
try {
  await waitForOk(`${url}/health/live`, 20_000);
  await new Promise((r) => setTimeout(r, 1000));
  const rest = rssBytes(proxy.pid);
  let peak = rest;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(proxy.pid))), 50);
  const outcomes = { stalled: 0, refused: 0, other: 0 };
  const reqs = [];
  const chunk = Buffer.alloc(declared - 1024, 0x20);
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve) => {
          const headers = { 'content-type': 'application/json', 'content-length': String(declared) };
          const req = http.request(`${url}/order`, { method: 'POST', agent: false, headers });
          reqs.push(req);
          const timer = setTimeout(() => {
            outcomes.stalled++;
            resolve();
          }, 15_000);
          req.on('response', (res) => {
            clearTimeout(timer);
            if (res.statusCode === 503) outcomes.refused++;
            else outcomes.other++;
            res.resume();
            resolve();
          });
          req.on('error', () => {
            clearTimeout(timer);
            outcomes.other++;
            resolve();
          });
          req.write(chunk);
        }),
    ),
  );
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(proxy.pid));
  for (const r of reqs) r.destroy();
  const bound = rest + budget + connections * PER_CONNECTION;
  const result = {
    connections,
    declaredBytes: declared,
    sentBytes: declared - 1024,
    budgetBytes: budget,
    restRssMB: +(rest / MB).toFixed(1),
    peakRssMB: +(peak / MB).toFixed(1),
    boundMB: +(bound / MB).toFixed(1),
    peakOverRest: +(peak / rest).toFixed(2),
    withoutBudgetWouldHoldMB: +((connections * (declared - 1024)) / MB).toFixed(0),
    outcomes,
    withinBound: peak <= bound,
  };
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'uploads.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!result.withinBound) process.exitCode = 1;
} finally {
  proxy.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
