import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '@ibrest/gateway-sim';
import { eventually, http, tempDataDir } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('main.js – the real process', () => {
  let sim: RunningGatewaySim;
  before(async () => {
    sim = await startGatewaySim({ port: 0, tickIntervalMs: 0 });
  });
  after(() => sim.close());

  it('logs "listening" with port/host/url, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        IB_PORT: String(sim.port),
        IB_CLIENT_ID: '5',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATA_DIR: tempDataDir(),
        IB_MAINTENANCE_WINDOWS: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: child.stdout! });
      let listening: { port: number; host: string; url: string; msg: string } | undefined;
      for await (const line of lines) {
        const rec = JSON.parse(line) as { msg: string; port: number; host: string; url: string; clientId: number };
        assert.equal(rec.clientId, 5);
        if (rec.msg === 'listening') {
          listening = rec;
          break;
        }
      }
      assert.ok(listening);
      assert.ok(listening.port > 0);
      assert.equal(listening.host, '127.0.0.1');
      assert.equal(listening.url, `http://127.0.0.1:${listening.port}`);
      const ready = await eventually(
        async () => {
          const r = await http(`${listening!.url}/health/ready`);
          return r.status === 200 ? r : undefined;
        },
        10_000,
        'ready',
      );
      assert.equal(ready!.headers.get('x-ib-client-id'), '5');
      assert.ok(sim.control.connections().some((c) => c.clientId === 5));
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      await eventually(() => !sim.control.connections().some((c) => c.clientId === 5), 3000, 'IB connection closed');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses bad configuration before listening, saying what was expected', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, IB_CLIENT_ID: '99' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /Expected IB_CLIENT_ID to be an integer from 0 to 31, got "99"/);
  });
});
