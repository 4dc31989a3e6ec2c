import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '@ibrest/gateway-sim';
import { orderRefForKey } from '@ibrest/order-safety';
import { AAPL, eventually, http, tempDataDir } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const CLIENT_ID = 6;

/** The real worker process on a fixed DATA_DIR; resolves with its URL once it logged "listening". */
async function spawnWorker(simPort: number, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      IB_PORT: String(simPort),
      IB_CLIENT_ID: String(CLIENT_ID),
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      IB_MAINTENANCE_WINDOWS: 'none',
      IB_RECONNECT_MIN_MS: '50',
      IB_RECONNECT_MAX_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const rec = JSON.parse(line) as { msg: string; url: string };
    if (rec.msg === 'listening') {
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout!.resume();
      await eventually(async () => (await http(`${rec.url}/health/ready`)).status === 200, 10_000, 'worker ready');
      return { child, url: rec.url };
    }
  }
  throw new Error('worker exited before listening');
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

describe('restart – idempotency survives kill -9 of the worker process', () => {
  let sim: RunningGatewaySim;
  const dataDir = tempDataDir();
  const children: ChildProcess[] = [];
  before(async () => {
    sim = await startGatewaySim({ port: 0, tickIntervalMs: 0 });
  });
  after(async () => {
    for (const c of children) await kill9(c);
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const order = { contract: AAPL, order: { action: 'BUY', totalQuantity: 3, orderType: 'LMT', lmtPrice: 99 } };
  const post = (url: string, key: string) =>
    http(`${url}/order`, { method: 'POST', json: order, headers: { 'idempotency-key': key } });
  const atSim = (key: string) => sim.control.orders().filter((o) => o.orderRef === orderRefForKey(key));

  it('placed, killed, restarted, retried → the same orderId, one order at IB', async () => {
    const a = await spawnWorker(sim.port, dataDir);
    children.push(a.child);
    const first = await post(a.url, 'crash-1');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await kill9(a.child);
    const b = await spawnWorker(sim.port, dataDir);
    children.push(b.child);
    const retry = await post(b.url, 'crash-1');
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.orderId, first.body.orderId);
    assert.equal(atSim('crash-1').length, 1);
    // The journal survived too: the first process's events are still there, in order.
    const events = (await http(`${b.url}/order/events?limit=1000`)).body.events as { type: string; orderId?: number }[];
    assert.deepEqual(
      events
        .filter((e) => e.orderId === first.body.orderId)
        .slice(0, 2)
        .map((e) => e.type),
      ['accepted', 'sent'],
    );
    await kill9(b.child);
  });

  it('killed with an order in flight at IB → after restart a retry finds it by orderRef, places none', async () => {
    const c = await spawnWorker(sim.port, dataDir);
    children.push(c.child);
    // IB takes its time to acknowledge: the worker dies after sending, before it could answer.
    sim.control.delayReplies(5000);
    const pending = post(c.url, 'crash-2').catch(() => undefined);
    await eventually(() => atSim('crash-2').length === 1, 5000, 'order at IB');
    await kill9(c.child);
    await pending;
    sim.control.delayReplies(0);
    const d = await spawnWorker(sim.port, dataDir);
    children.push(d.child);
    const retry = await post(d.url, 'crash-2');
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.body.orderId, atSim('crash-2')[0]!.orderId);
    assert.equal(atSim('crash-2').length, 1);
    const again = await post(d.url, 'crash-2');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.orderId, retry.body.orderId);
    assert.equal(atSim('crash-2').length, 1);
  });
});
