import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, http } from './helpers/eventually.js';
import { orderRefForKey } from './helpers/faults-kit.js';
import { startStack } from './helpers/stack.js';

const PLACE_ORDER = 3;
const ORDER = {
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 100, tif: 'GTC' },
};

/** Writes zeros to `path` until the filesystem says ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (;;) writeSync(fd, Buffer.alloc(64 * 1024));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

// Worker 0's disk fills up: the proxy stops sending it order operations (503 + Retry-After, nothing reaches IB)
// while reads go on; once space is back the `orders` capability returns without a restart and the retried key
// places exactly one order.
test('order worker disk full – orders refused at the proxy, reads served, recovery by itself', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'ibrest-e2e-full-'));
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    t.skip(`cannot mount a small tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const stack = await startStack({
    workers: 2,
    workerEnvFor: (clientId): Record<string, string> => (clientId === 0 ? { DATA_DIR: join(mnt, 'data') } : {}),
    proxyEnv: { HEALTH_INTERVAL_MS: '200' },
  }).catch((err: unknown) => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(base, { recursive: true, force: true });
    throw err;
  });
  t.after(async () => {
    await stack.stop();
    execFileSync('umount', ['-l', mnt]);
    rmSync(base, { recursive: true, force: true });
  });
  const worker0 = stack.workers[0]!;
  const ready0 = () => http(`${worker0.url}/health/ready`, { headers: stack.workerHeaders });
  const order = (key: string) =>
    http(`${stack.proxyUrl}/order`, {
      method: 'POST',
      headers: { 'Idempotency-Key': key },
      body: JSON.stringify(ORDER),
    });
  const placed = () => stack.sim.control.received({ clientId: 0, msgId: PLACE_ORDER }).length;
  const atSim = (key: string) => stack.sim.control.orders().filter((o) => o.orderRef === orderRefForKey(key));

  const first = await order('disk-full-before');
  assert.equal(first.status, 201, JSON.stringify(first.body));

  const filler = join(mnt, 'filler');
  fill(filler);
  const placesBefore = placed();
  // The first write that fails takes `orders` out; a write is what finds out (the storage probes only while down).
  const refusedAtWorker = await order('disk-full-during');
  assert.equal(refusedAtWorker.status, 503, JSON.stringify(refusedAtWorker.body));
  assert.ok(Number(refusedAtWorker.headers.get('retry-after')) >= 1, 'Retry-After is set');
  await eventually(async () => {
    const r = await ready0();
    assert.equal(r.status, 200, 'the link is up: worker 0 stays ready for reads');
    assert.equal(r.body.capabilities.orders.ok, false, JSON.stringify(r.body.capabilities.orders));
    assert.match(r.body.capabilities.orders.reason ?? '', /full|disk|written/i);
    assert.equal(r.body.capabilities.link.ok, true);
  }, 10_000);
  // The proxy knows it too: it refuses the order itself (ORDERS_UNAVAILABLE, not the worker's LOG_UNAVAILABLE).
  const refused = await eventually(async () => {
    const r = await order('disk-full-during');
    assert.equal(r.body?.error?.code, 'ORDERS_UNAVAILABLE', JSON.stringify(r.body));
    return r;
  }, 10_000);
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After is set');
  const positions = await http(`${stack.proxyUrl}/account/positions`);
  assert.equal(positions.status, 200, `reads keep working: ${JSON.stringify(positions.body)}`);
  assert.equal(placed(), placesBefore, 'nothing reached the simulator');
  assert.equal(atSim('disk-full-during').length, 0);

  rmSync(filler);
  await eventually(async () => {
    const r = await ready0();
    assert.equal(r.body.capabilities.orders.ok, true, JSON.stringify(r.body.capabilities.orders));
  }, 15_000);
  const after = await eventually(async () => {
    const r = await order('disk-full-during');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r;
  }, 10_000);
  assert.equal(atSim('disk-full-during').length, 1, 'the key placed exactly one order');
  assert.equal(atSim('disk-full-during')[0]!.permId, after.body.permId);
  const replay = await order('disk-full-during');
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(atSim('disk-full-during').length, 1, 'a retry replays, it does not place again');
  assert.equal(placed(), placesBefore + 1, 'one PLACE_ORDER since the disk filled');
});
