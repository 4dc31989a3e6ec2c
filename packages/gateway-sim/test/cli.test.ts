import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { RawClient, waitUntil } from './helpers.js';

// The committed bin wrapper, as `npx ib-gateway-sim` runs it.
const MAIN = fileURLToPath(new URL('../../bin/ib-gateway-sim.js', import.meta.url));

describe('ib-gateway-sim CLI', () => {
  it('logs one "listening" line with port, host and url, serves clients, exits on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--port',
        '0',
        '--server-version',
        '193',
        '--control-port',
        '0',
        '--fa-master',
        'DF7654321',
        '--depth-books',
        '5',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    try {
      await waitUntil(() => lines.some((l) => l.msg === 'listening'), 5000, 'listening line');
      const listening = lines.find((l) => l.msg === 'listening')!;
      assert.equal(listening.host, '127.0.0.1');
      assert.equal(listening.url, `tcp://127.0.0.1:${listening.port}`);
      const c = await RawClient.ready(listening.port as number, 1);
      assert.equal(c.serverVersion, 193);
      assert.equal(c.frames.find((f) => f[0] === '15')?.[2], 'DF7654321,DU1234567,DU1234568', 'FA login: master first');
      c.close();
      await waitUntil(() => lines.some((l) => l.msg === 'control API listening'), 2000);
      const control = lines.find((l) => l.msg === 'control API listening')!;
      const res = await fetch(`${control.url as string}/violations`);
      assert.deepEqual(((await res.json()) as { byCode: unknown }).byCode, {});
      const fa = (await (await fetch(`${control.url as string}/fa`)).json()) as { master: string };
      assert.equal(fa.master, 'DF7654321');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });

  it('fails before listening on a bad flag value', async () => {
    const child = spawn(process.execPath, [MAIN, '--server-version', '150'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(err, /Expected GATEWAY_SIM_SERVER_VERSION to be an integer from 164 to 193, got "150"/);
  });
});
