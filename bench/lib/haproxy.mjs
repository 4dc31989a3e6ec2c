import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForOk } from '@ibrest/stack';
import { freePort } from './stack.mjs';

/**
 * The reference a user would deploy instead of our proxy: HAProxy with one thread, keep-alive and
 * `http-reuse always` to the same workers, the same routing split as ours (order paths → clientId 0,
 * everything else leastconn over the others) and the same readiness probe.
 */
export function haproxyConfig(port, workers) {
  const reads = workers.filter((w) => w.clientId !== 0);
  const w0 = workers.find((w) => w.clientId === 0);
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 2s
  timeout client 30s
  timeout server 65s
  timeout http-keep-alive 5s
  timeout http-request 20s

frontend api
  bind 127.0.0.1:${port}
  acl is_order path /order
  acl is_order path_beg /order/
  use_backend orders if is_order
  default_backend reads

backend reads
  balance leastconn
  option httpchk GET /health/ready
${reads.map((w) => `  server ${w.name} 127.0.0.1:${w.port} check inter 2s maxconn 64`).join('\n')}

backend orders
  option httpchk GET /health/ready
  server ${w0.name} 127.0.0.1:${w0.port} check inter 2s maxconn 64
`;
}

export async function startHaproxy(haproxyPath, workers) {
  const dir = mkdtempSync(join(tmpdir(), 'ibrest-haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, workers));
  const child = spawn(haproxyPath, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  const status = await waitForOk(`${url}/health/ready`, 10_000);
  if (status !== 200) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy did not come up (status ${status}): ${stderr}`);
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function haproxyVersion(haproxyPath) {
  return new Promise((resolve) => {
    const c = spawn(haproxyPath, ['-v'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.once('exit', () => resolve((/version (\S+)/.exec(out) ?? [])[1] ?? 'unknown'));
    c.once('error', () => resolve('unknown'));
  });
}
