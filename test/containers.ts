/**
 * `npm run test:containers`: the images and the compose stack built and run on a real Docker engine (not part
 * of `npm test`; it needs a Docker engine with Compose v2 and takes 15–25 minutes on two cores).
 *
 * Builds the three images (classic builder, `--network host`), brings the `sim` profile up with secrets from
 * deploy/make-secrets.sh, waits for health, sends the README's requests through the proxy over HTTPS with the
 * printed key, restarts a worker, the simulator and worker 0 and checks that reads and orders recover by
 * themselves, then `down` + `up` and checks that the journal and the idempotency keys survived and that no order
 * id was used twice; finally the `monitoring` profile's Prometheus must have every target up and every rule
 * loaded. Figures (build times, cold start, recovery times, image sizes) are printed as test diagnostics.
 *
 * Settings: PROXY_PORT / PROMETHEUS_PORT (default: free ports), CT_PROJECT (compose project, default
 * ibrest-ct), CT_SKIP_BUILD=1 (use the images as they are), CT_KEEP=1 (leave the stack and volumes up).
 * The base images must exist (node:26.x-bookworm-slim, and prom/prometheus:<tag> for the last step).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { loadAlertRules } from './helpers/deploy-promql.js';
import { fromRoot, freePort, repoRoot, tempDir } from './helpers/deploy-tools.js';

const PROJECT = process.env.CT_PROJECT ?? 'ibrest-ct';
const IMAGES = {
  worker: process.env.IBREST_WORKER_IMAGE ?? 'ibrest-worker:local',
  sim: process.env.IBREST_SIM_IMAGE ?? 'ibrest-gateway-sim:local',
  proxy: process.env.IBREST_PROXY_IMAGE ?? 'ibrest-proxy:local',
};
const WORKERS = Array.from({ length: 8 }, (_, i) => `worker${i}`);
const SIM_SERVICES = ['gateway-sim', 'proxy', ...WORKERS];
const INSPECT_HARDENING = '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.Config.User}}';
const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const MARKET_ORDER = { contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 10 } };
const limitOrder = (lmtPrice: number) => ({
  contract: AAPL,
  order: { action: 'BUY', orderType: 'LMT', totalQuantity: 10, lmtPrice },
});

interface Exec {
  code: number;
  out: string;
}

/** Runs a command, keeping its output (the last 64 KiB) for the assertion message. */
function exec(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-65_536);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

async function must(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const res = await exec(command, args, env, timeoutMs);
  assert.equal(res.code, 0, `${command} ${args.join(' ')} failed:\n${res.out}`);
  return res.out;
}

/** A failure that retrying cannot cure (an order id given twice): `until` stops at once. */
class Fatal extends Error {}

/** Polls until `probe` passes; returns how long that took (ms). */
async function until(what: string, probe: () => Promise<void>, timeoutMs: number, intervalMs = 500): Promise<number> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      await probe();
      return Date.now() - start;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = last instanceof Error ? last.message : String(last);
  throw new Error(`${what}: not within ${timeoutMs / 1000} s: ${why}`, { cause: last });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

describe('containers: images and the compose stack on a Docker engine', () => {
  const dir = tempDir('ibrest-containers-');
  const secrets = join(dir.path, 'secrets');
  let env: NodeJS.ProcessEnv = {};
  let key = '';
  let ca: Buffer;
  let proxyPort = 0;
  /** Every order id IB gave us, with the Idempotency-Key that placed it. */
  const placed = new Map<number, string>();
  const figures: string[] = [];
  const figure = (t: TestContext, line: string) => {
    figures.push(line);
    t.diagnostic(line);
  };

  const everything = ['compose', '-p', PROJECT, '--profile', 'sim', '--profile', 'monitoring'];
  const compose = (args: string[], timeoutMs = 300_000) =>
    must('docker', ['compose', '-p', PROJECT, '--profile', 'sim', ...args], env, timeoutMs);

  function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: proxyPort,
          method,
          path,
          ca,
          timeout: 30_000,
          headers: {
            authorization: `Bearer ${key}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function placeOrder(body: unknown, idempotencyKey: string = randomUUID()): Promise<Answer> {
    const res = await api('POST', '/order', body, { 'idempotency-key': idempotencyKey });
    if (res.status === 201 && typeof res.body?.orderId === 'number' && !res.headers['idempotent-replayed']) {
      const previous = placed.get(res.body.orderId);
      const id = res.body.orderId as number;
      if (previous !== undefined) {
        throw new Fatal(`order id ${id} given again (first for key ${previous}, now ${idempotencyKey})`);
      }
      placed.set(res.body.orderId, idempotencyKey);
    }
    return res;
  }

  /** Every container of the sim profile running and healthy. */
  async function allHealthy(): Promise<void> {
    const out = (await compose(['ps', '-a', '--format', 'json'], 60_000)).trim();
    // Compose 2.21+ prints one JSON object per line; older ones a JSON array.
    type Row = { Service: string; State: string; Health: string };
    const lines = out.split('\n').filter(Boolean);
    const rows = (out.startsWith('[') ? JSON.parse(out) : lines.map((l) => JSON.parse(l))) as Row[];
    const states = new Map(rows.map((r) => [r.Service, `${r.State}/${r.Health}`]));
    for (const s of SIM_SERVICES) {
      assert.equal(states.get(s), 'running/healthy', `${s}: ${states.get(s) ?? 'no container'}`);
    }
  }

  /** All eight workers ready behind the proxy. */
  async function allReady(): Promise<void> {
    const res = await api('GET', '/clients');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const clients = res.body.clients as Array<{ clientId: number; up: boolean }>;
    assert.equal(clients.filter((c) => c.up).length, 8, JSON.stringify(clients.map((c) => [c.clientId, c.up])));
  }

  async function readsWork(): Promise<void> {
    const res = await api('GET', '/account/positions');
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function orderWorks(): Promise<void> {
    const res = await placeOrder(MARKET_ORDER);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  before(async () => {
    const makeSecrets = fromRoot('deploy', 'make-secrets.sh');
    const made = await exec('sh', [makeSecrets], { ...process.env, SECRETS_DIR: secrets }, 60_000);
    assert.equal(made.code, 0, made.out);
    key = /\n\s+(ibr_[0-9a-f]{48})\n/.exec(made.out)?.[1] ?? '';
    assert.ok(key, `make-secrets printed no key:\n${made.out}`);
    ca = readFileSync(join(secrets, 'tls-cert.pem'));
    proxyPort = Number(process.env.PROXY_PORT ?? (await freePort()));
    env = {
      ...process.env,
      PROXY_PORT: String(proxyPort),
      PROMETHEUS_PORT: String(process.env.PROMETHEUS_PORT ?? (await freePort())),
      TLS_CERT_PATH: join(secrets, 'tls-cert.pem'),
      TLS_KEY_PATH: join(secrets, 'tls-key.pem'),
      API_KEYS_PATH: join(secrets, 'api-keys'),
      INTERNAL_TOKEN_PATH: join(secrets, 'internal-token'),
      METRICS_KEY_PATH: join(secrets, 'metrics-key'),
      GRAFANA_ADMIN_PASSWORD_PATH: join(secrets, 'grafana-admin-password'),
      TWS_PASSWORD_PATH: join(secrets, 'tws-password'),
      IBREST_WORKER_IMAGE: IMAGES.worker,
      IBREST_SIM_IMAGE: IMAGES.sim,
      IBREST_PROXY_IMAGE: IMAGES.proxy,
      DOCKER_BUILDKIT: '0',
    };
    // A stack left over from an aborted run would hold the names and the volumes.
    await exec('docker', [...everything, 'down', '-v'], env, 300_000);
  });

  after(async () => {
    if (process.env.CT_KEEP !== '1') {
      await exec('docker', [...everything, 'down', '-v'], env, 300_000);
    }
    dir.remove();
    if (figures.length > 0) {
      process.stdout.write(`\ncontainer test figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    }
  });

  it('builds the three images with the classic builder, small and without a shell', async (t) => {
    const builds: Array<[string, string[]]> = [
      ['worker', ['-f', 'worker.Dockerfile', '--target', 'worker', '-t', IMAGES.worker]],
      ['sim', ['-f', 'worker.Dockerfile', '--target', 'sim', '-t', IMAGES.sim]],
      ['proxy', ['-f', 'proxy.Dockerfile', '-t', IMAGES.proxy]],
    ];
    for (const [name, args] of builds) {
      if (process.env.CT_SKIP_BUILD === '1') break;
      const start = Date.now();
      await must('docker', ['build', '--network', 'host', ...args, '.'], env, 1_800_000);
      figure(t, `build ${name}: ${((Date.now() - start) / 1000).toFixed(0)} s`);
    }
    for (const [name, image] of Object.entries(IMAGES)) {
      const size = Number((await must('docker', ['image', 'inspect', '-f', '{{.Size}}', image], env, 30_000)).trim());
      figure(t, `image ${name} (${image}): ${(size / 1e6).toFixed(0)} MB`);
      assert.ok(size < 200e6, `${image} is ${(size / 1e6).toFixed(0)} MB`);
      // Nothing but node: no shell to exec into, no npm.
      const shellArgs = ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', image, '-c', 'true'];
      const shell = await exec('docker', shellArgs, env, 60_000);
      assert.notEqual(shell.code, 0, `${image} has a shell`);
      const user = await must('docker', ['image', 'inspect', '-f', '{{.Config.User}}', image], env, 30_000);
      assert.equal(user.trim(), 'node');
    }
  });

  it('starts cold and reaches healthy on the first `up`', async (t) => {
    const start = Date.now();
    await compose(['up', '-d', '--no-build'], 600_000);
    figure(t, `up -d returned after ${((Date.now() - start) / 1000).toFixed(0)} s`);
    await until('every container healthy', allHealthy, 600_000, 2_000);
    figure(t, `cold start to every container healthy: ${((Date.now() - start) / 1000).toFixed(0)} s`);
    await until('every worker ready behind the proxy', allReady, 300_000, 1_000);
    figure(t, `cold start to all eight workers ready behind the proxy: ${((Date.now() - start) / 1000).toFixed(0)} s`);
  });

  it('runs with read-only roots, no capabilities and non-root users', async () => {
    for (const s of SIM_SERVICES) {
      const id = (await compose(['ps', '-q', s], 60_000)).trim();
      const [readOnly, capDrop, user] = (await must('docker', ['inspect', '-f', INSPECT_HARDENING, id], env, 30_000))
        .trim()
        .split(' ');
      assert.equal(readOnly, 'true', `${s} root is writable`);
      assert.equal(capDrop, '[ALL]', `${s} keeps capabilities`);
      assert.equal(user, 'node', `${s} user`);
    }
  });

  it("answers the README's requests through the proxy over HTTPS with the generated key", async () => {
    const noKey = await api('GET', '/account/positions', undefined, { authorization: '' });
    assert.equal(noKey.status, 401);
    await readsWork();
    const contract = await api('GET', '/contract?symbol=AAPL&secType=STK');
    assert.equal(contract.status, 200, JSON.stringify(contract.body));
    await orderWorks();
    // Orders that are never placed twice: the same key answers the first order again; another body is refused.
    const idem = `readme-${randomUUID()}`;
    const first = await placeOrder(limitOrder(190), idem);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await placeOrder(limitOrder(190), idem);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.orderId, first.body.orderId);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const other = await placeOrder(limitOrder(191), idem);
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('recovers reads by itself when a worker container restarts', async (t) => {
    const start = Date.now();
    await compose(['restart', 'worker3'], 120_000);
    // Reads never need worker 3: the proxy routes around it while it restarts.
    await readsWork();
    await until('worker 3 ready again', allReady, 300_000, 1_000);
    figure(t, `restart worker3 → all workers ready again: ${((Date.now() - start) / 1000).toFixed(0)} s`);
  });

  it('recovers reads and orders by themselves when the simulator restarts, with no order id reused', async (t) => {
    const start = Date.now();
    await compose(['restart', 'gateway-sim'], 120_000);
    const reads = await until('reads after the simulator restart', readsWork, 300_000, 1_000);
    figure(t, `restart gateway-sim → reads answered: ${(reads / 1000).toFixed(0)} s`);
    const sinceRestart = Date.now();
    await until('orders after the simulator restart', orderWorks, 300_000, 2_000);
    const total = ((Date.now() - start) / 1000).toFixed(0);
    const afterReads = ((Date.now() - sinceRestart) / 1000).toFixed(0);
    figure(t, `restart gateway-sim → orders placed: ${total} s (after reads: ${afterReads} s)`);
  });

  it('recovers orders by themselves when worker 0 restarts; its journal answers the earlier keys', async (t) => {
    const [firstId, firstKey] = [...placed.entries()][0]!;
    const start = Date.now();
    await compose(['restart', 'worker0'], 120_000);
    await until('orders after the worker 0 restart', orderWorks, 300_000, 1_000);
    figure(t, `restart worker0 → orders placed: ${((Date.now() - start) / 1000).toFixed(0)} s`);
    const replay = await api('POST', '/order', MARKET_ORDER, { 'idempotency-key': firstKey });
    assert.equal(replay.status, 201, JSON.stringify(replay.body));
    assert.equal(replay.body.orderId, firstId);
  });

  it('keeps the journal and the idempotency keys across `down` + `up`, and never reuses an order id', async (t) => {
    const before = await journal();
    assert.ok(before.length > 0, 'the journal is empty before down');
    await compose(['down'], 300_000);
    const start = Date.now();
    await compose(['up', '-d', '--no-build'], 600_000);
    await until('every container healthy after up', allHealthy, 600_000, 2_000);
    await until('every worker ready after up', allReady, 300_000, 1_000);
    figure(t, `down + up → every worker ready: ${((Date.now() - start) / 1000).toFixed(0)} s`);
    const afterUp = await journal();
    const cursors = new Set(afterUp.map((e) => e.cursor));
    for (const e of before) {
      assert.ok(cursors.has(e.cursor), `journal event ${e.cursor} (${e.type}) lost across down/up`);
    }
    for (const [orderId, idem] of placed) {
      if (!idem.startsWith('readme-')) continue;
      const replay = await api('POST', '/order', limitOrder(190), { 'idempotency-key': idem });
      assert.equal(replay.status, 201, JSON.stringify(replay.body));
      assert.equal(replay.body.orderId, orderId, 'the idempotency key answers another order after down/up');
    }
    await until('orders after down/up', orderWorks, 300_000, 2_000);
    const ids = [...placed.keys()];
    assert.equal(new Set(ids).size, ids.length);
  });

  it("has every target up and every rule loaded in the monitoring profile's Prometheus", async (t) => {
    const start = Date.now();
    await must('docker', [...everything, 'up', '-d', '--no-build', 'prometheus'], env, 300_000);
    const prom = `http://127.0.0.1:${env.PROMETHEUS_PORT}`;
    await until(
      'every Prometheus target up',
      async () => {
        type Targets = { data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> } };
        const res = (await (await fetch(`${prom}/api/v1/targets`)).json()) as Targets;
        const targets = res.data.activeTargets;
        assert.equal(targets.length, 10, `targets: ${targets.map((x) => x.scrapeUrl).join(', ')}`);
        for (const x of targets) assert.equal(x.health, 'up', `${x.scrapeUrl}: ${x.health} ${x.lastError}`);
      },
      300_000,
      2_000,
    );
    figure(t, `prometheus up → all 10 targets up: ${((Date.now() - start) / 1000).toFixed(0)} s`);
    type Rules = { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as Rules;
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const expected = loadAlertRules().map((r) => r.alert);
    assert.deepEqual(loaded.map((r) => r.name).sort(), [...expected].sort());
    for (const r of loaded) assert.notEqual(r.health, 'err', `rule ${r.name}`);
  });

  /** Every event of worker 0's durable journal. */
  async function journal(): Promise<Array<{ cursor: number; type: string; orderId?: number }>> {
    const out: Array<{ cursor: number; type: string; orderId?: number }> = [];
    for (let since = 0; ;) {
      const page = await api('GET', `/order/events?since=${since}&limit=1000`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const events = page.body.events as Array<{ cursor: number; type: string; orderId?: number }>;
      if (events.length === 0) return out;
      out.push(...events);
      since = page.body.nextCursor;
    }
  }
});
