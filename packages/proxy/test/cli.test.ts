import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig, parseApiKeys, parseWorkers } from '../src/index.js';
import { eventually, request } from './helpers.js';
import { StubWorker } from './stub-worker.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('config – validated at start with "expected X, got Y"', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ WORKERS: '1=http://127.0.0.1:5001' }, /Expected WORKERS to include clientId 0/],
    [{ WORKERS: '0=ftp://x' }, /Expected WORKERS URL for clientId 0 to be http: or https:, got "ftp:"/],
    [{ WORKERS: '0=http://a:1,0=http://b:2' }, /Expected each WORKERS clientId once, got 0 twice/],
    [{ WORKERS: 'zero=http://a:1' }, /Expected WORKERS entry as clientId=URL/],
    [{ PORT: 'eighty' }, /Expected PORT to be an integer from 0 to 65535, got "eighty"/],
    [{ METRICS_AUTH: 'maybe' }, /Expected METRICS_AUTH to be one of none, key, got "maybe"/],
    [{ TLS_CERT: 'x' }, /Expected both TLS_CERT and TLS_KEY/],
    [{ API_KEYS: 'a:read:sha256:1234' }, /sha256:<64 hex digits>.*got a value of 11 characters/],
    [{ API_KEYS: `a:write:sha256:${'0'.repeat(64)}` }, /scope to be one of read, trade, admin, got "write"/],
    [{ IBREST_INSECURE: 'perhaps' }, /Expected IBREST_INSECURE to be true or false/],
  ];
  for (const [env, msg] of bad) {
    it(`rejects ${JSON.stringify(env)}`, () => assert.throws(() => loadConfig(env), msg));
  }

  it('parses workers, JSON keys with policy, and --insecure', () => {
    assert.deepEqual(
      parseWorkers('1=http://h:5001, 0=http://h:5000').map((w) => [w.clientId, w.url.port]),
      [
        [0, '5000'],
        [1, '5001'],
      ],
    );
    const [k] = parseApiKeys(
      JSON.stringify([
        { name: 'algo', scopes: ['read', 'trade'], hash: `sha256:${'A'.repeat(64)}`, policy: { maxQuantity: 100 } },
      ]),
    );
    assert.deepEqual(
      [k!.name, [...k!.scopes], k!.hash, k!.policy],
      ['algo', ['read', 'trade'], `sha256:${'a'.repeat(64)}`, { maxQuantity: 100 }],
    );
    const cfg = loadConfig({}, ['--insecure']);
    assert.equal(cfg.insecure, true);
    assert.equal(cfg.workers.length, 8);
    assert.equal(cfg.metricsAuth, 'none');
  });
});

describe('ibrest-proxy (process)', () => {
  it('hash-key prints the stored form, from an argument or stdin', () => {
    const expected = 'sha256:' + createHash('sha256').update('s3cret').digest('hex');
    const arg = spawnSync(process.execPath, [MAIN, 'hash-key', 's3cret'], { encoding: 'utf8' });
    assert.equal(arg.status, 0);
    assert.equal(arg.stdout.trim(), expected);
    const stdin = spawnSync(process.execPath, [MAIN, 'hash-key', '-'], { input: 's3cret\n', encoding: 'utf8' });
    assert.equal(stdin.stdout.trim(), expected);
  });

  it('refuses to listen on 0.0.0.0 without keys and exits 1 with the reason', () => {
    const out = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, HOST: '0.0.0.0', PORT: '0', WORKERS: '0=http://127.0.0.1:9' },
      encoding: 'utf8',
    });
    assert.equal(out.status, 1);
    assert.match(out.stderr, /Refusing to listen on 0\.0\.0\.0.*--insecure/);
  });

  it('logs "listening" with port/host/url, serves, and exits 0 on SIGTERM', async () => {
    const stubs = await Promise.all([StubWorker.start(0), StubWorker.start(1)]);
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        PORT: '0',
        WORKERS: stubs.map((s) => `${s.clientId}=${s.url}`).join(','),
        HEALTH_DOWN_INTERVAL_MS: '50',
        LOG_LEVEL: 'info',
        IB_MAINTENANCE_WINDOWS: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const listening = await new Promise<{ port: number; host: string; url: string }>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.on('line', (line) => {
          const entry = JSON.parse(line) as { msg: string; port: number; host: string; url: string };
          if (entry.msg === 'listening') resolve(entry);
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      assert.equal(listening.host, '127.0.0.1');
      assert.equal(listening.url, `http://127.0.0.1:${listening.port}`);
      await eventually(
        async () => (await request(listening.url + '/health/ready')).status === 200,
        3000,
        'proxy ready',
      );
      const r = await request(listening.url + '/order', { method: 'POST', body: '{}' });
      assert.equal(r.json.clientId, 0);
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
    } finally {
      child.kill('SIGKILL');
      await Promise.all(stubs.map((s) => s.close()));
    }
  });
});
