import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { http } from './helpers/eventually.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

test('npm start – brings up simulator, eight workers and the proxy, and the printed curl examples work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibrest-start-'));
  // Port 0 everywhere so the test never collides with a developer's running stack.
  const child = spawn(process.execPath, [join(root, 'packages/stack/dist/src/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      SIM_PORT: '0',
      WORKER_BASE_PORT: '0',
      PORT: '0',
      LOG_LEVEL: 'warn',
      LOG_DIR: join(dir, 'logs'),
      DATA_DIR: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  try {
    const proxyUrl = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`not up within 60 s:\n${lines.join('\n')}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`npm start exited ${code}:\n${lines.join('\n')}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        const m = /^\s+curl (http:\/\/127\.0\.0\.1:\d+)\/account\/positions$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    });
    const ready = lines.filter((l) => l.startsWith('✓'));
    assert.equal(ready.length, 10, `one ready line per component:\n${lines.join('\n')}`);
    for (const name of ['gateway-sim', 'proxy', ...Array.from({ length: 8 }, (_, i) => `worker${i}`)]) {
      assert.ok(
        ready.some((l) => l.includes(` ${name} `)),
        `${name} announced`,
      );
    }
    const positions = await http(`${proxyUrl}/account/positions`);
    assert.equal(positions.status, 200);
    const contract = await http(`${proxyUrl}/contract?symbol=AAPL&secType=STK`);
    assert.equal(contract.status, 200, JSON.stringify(contract.body));
    const order = await http(`${proxyUrl}/order`, {
      method: 'POST',
      body: JSON.stringify({
        contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
        order: { action: 'BUY', orderType: 'MKT', totalQuantity: 10 },
      }),
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    assert.equal(order.headers.get('x-ib-client-id'), '0');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `clean exit on SIGTERM:\n${lines.slice(-5).join('\n')}`);
  }
});

/** Pids whose parent is `pid` (from /proc; Linux). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `npm start` on `dir` (port 0 everywhere) and resolves once it printed its proxy URL. */
async function startStack(dir: string, lines: string[]): Promise<{ child: ChildProcess; proxyUrl: string }> {
  const child = spawn(process.execPath, [join(root, 'packages/stack/dist/src/main.js')], {
    cwd: root,
    // Two workers (the order worker and one more) keep the test short; the mechanism is the same for eight.
    env: {
      ...process.env,
      WORKERS_COUNT: '2',
      SIM_PORT: '0',
      WORKER_BASE_PORT: '0',
      PORT: '0',
      LOG_LEVEL: 'warn',
      LOG_DIR: join(dir, 'logs'),
      DATA_DIR: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proxyUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up within 60 s:\n${lines.join('\n')}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`npm start exited ${code}:\n${lines.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /^\s+curl (http:\/\/127\.0\.0\.1:\d+)\/account\/positions$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  });
  return { child, proxyUrl };
}

test('npm start – kill -9 of the supervisor takes its children down; a restart on the same data works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibrest-start-kill-'));
  const lines: string[] = [];
  let second: ChildProcess | undefined;
  try {
    const first = await startStack(dir, lines);
    const children = childrenOf(first.child.pid!);
    assert.equal(children.length, 4, `simulator, two workers and the proxy are children: ${children.join(',')}`);
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 20_000;
    while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(children.filter(alive), [], 'every child exited within 20 s of its supervisor');

    lines.length = 0;
    const again = await startStack(dir, lines);
    second = again.child;
    assert.ok(!lines.some((l) => l.includes('DATA_DIR_LOCKED')), lines.join('\n'));
    assert.equal(lines.filter((l) => l.startsWith('✓')).length, 4, lines.join('\n'));
    const order = await http(`${again.proxyUrl}/order`, {
      method: 'POST',
      headers: { 'Idempotency-Key': 'after-kill-9' },
      body: JSON.stringify({
        contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
        order: { action: 'BUY', orderType: 'LMT', lmtPrice: 1, totalQuantity: 1 },
      }),
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
  } finally {
    if (second) {
      const exited = new Promise((r) => second!.once('exit', r));
      second.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
