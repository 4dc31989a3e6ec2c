import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AAPL, eventually, http, startStack } from './helpers.js';

const PLACE_ORDER = 3;

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

// A full disk refuses orders with 503 (nothing reaches IB) and never crashes the worker; orders work again once
// space is back, without a restart.
test('order storage – a full disk fails closed and recovers by itself', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'ibrest-worker-full-'));
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    t.skip(`cannot mount a small tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const s = await startStack({ DATA_DIR: join(mnt, 'data'), ORDER_DATA_FSYNC: 'true' });
  t.after(async () => {
    await s.close();
    execFileSync('umount', ['-l', mnt]);
    rmSync(base, { recursive: true, force: true });
  });
  const order = (key: string): Promise<{ status: number; body: any; headers: Headers }> =>
    http(`${s.url}/order`, {
      method: 'POST',
      headers: { 'Idempotency-Key': key },
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 100, tif: 'GTC' } },
    });
  const first = await order('before-full');
  assert.equal(first.status, 201, JSON.stringify(first.body));

  const filler = join(mnt, 'filler');
  fill(filler);
  const placesBefore = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
  const refused = await order('while-full');
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'LOG_UNAVAILABLE');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After is set');
  const places = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
  assert.equal(places, placesBefore, 'nothing reached IB');
  assert.equal(s.worker.safety.storage.isWritable(), false);
  assert.match(s.worker.safety.storage.health().reason ?? '', /full|disk/i);
  assert.equal((await http(`${s.url}/health/live`)).status, 200, 'the worker is alive');
  const ready = await http(`${s.url}/health/ready`);
  assert.equal(ready.status, 200, 'the link is up: the worker stays in rotation for reads');
  assert.equal(ready.body.capabilities.orders.ok, false, 'orders are out of readiness');
  assert.match(ready.body.capabilities.orders.reason, /full|disk/i);
  assert.equal((await http(`${s.url}/order`)).status, 200, 'reads keep working');
  const replay = await order('before-full');
  assert.equal(replay.status, 201, 'a stored answer is still replayed');
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');

  rmSync(filler);
  await eventually(() => s.worker.safety.storage.isWritable(), 5000, 'the storage to recover by itself');
  const back = async () => (await http(`${s.url}/health/ready`)).body.capabilities.orders.ok === true;
  await eventually(back, 5000, 'orders back in readiness');
  const after = await order('while-full');
  assert.equal(after.status, 201, JSON.stringify(after.body));
  const placed = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
  assert.equal(placed, placesBefore + 1, 'placed once');
});
