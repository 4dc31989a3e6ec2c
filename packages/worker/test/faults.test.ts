import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@ibrest/common';
import { loadConfig } from '../src/config.js';
import { startWorker } from '../src/worker.js';
import { AAPL, eventually, http, startStack, type Stack, tempDataDir } from './helpers.js';

const START_API = 71;
const REQ_POSITIONS = 61;
const REQ_PNL = 92;

describe('faults – outages, reconnects and a stuck clientId', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('1100: link down, stale mirror reads with their age; 1102: back; a farm flap: its capability only', async () => {
    s.sim.control.sendNotice(1100);
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 503, 3000, '503 after 1100');
    const ready = await http(`${s.url}/health/ready`);
    assert.equal(ready.body.status, 'degraded');
    assert.equal(ready.body.ib.ibServerLink, false);
    assert.equal(ready.body.capabilities.link.ok, false);
    assert.match(ready.body.capabilities.link.reason, /1100/);
    assert.equal(ready.body.capabilities.mirror.ok, true);
    assert.equal(ready.body.capabilities.orders.ok, false);
    assert.ok(Number(ready.headers.get('retry-after')) >= 1);
    const r = await http(`${s.url}/account/positions`);
    assert.equal(r.status, 200, 'mirror reads are served from the last state');
    assert.ok(Number(r.headers.get('x-ibrest-mirror-age')) >= 0, 'with the age of that state');
    const c = await http(`${s.url}/contract?symbol=AAPL&secType=STK&exchange=SMART&currency=USD`);
    assert.equal(c.status, 503);
    assert.equal(c.body.error.code, 'IB_NOT_READY');
    assert.ok(Number(c.headers.get('retry-after')) >= 1);
    s.sim.control.sendNotice(1102);
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 200, 3000, 'ready after 1102');
    const live = await http(`${s.url}/account/positions`);
    assert.equal(live.headers.get('x-ibrest-mirror-age'), null, 'a live mirror carries no age');
    const flap = s.sim.control.flapFarm('usfarm', { downMs: 300 });
    const down = await eventually(
      async () => {
        const h = await http(`${s.url}/health/ready`);
        return h.body.farms.usfarm === 'down' ? h : undefined;
      },
      3000,
      'farm down',
    );
    assert.equal(down!.status, 200, 'a farm down leaves the link, and readiness, up');
    assert.equal(down!.body.capabilities.marketData.ok, false);
    assert.match(down!.body.capabilities.marketData.reason, /usfarm \(2103\)/);
    assert.equal(down!.body.capabilities.historical.ok, true);
    assert.equal(down!.body.capabilities.orders.ok, true);
    await flap;
    const marketData = async () => (await http(`${s.url}/health/ready`)).body.capabilities.marketData.ok === true;
    await eventually(marketData, 3000, 'marketData back');
  });

  it('1101 → the mirror re-syncs and live subscriptions are re-established', async () => {
    const pnl = await http(`${s.url}/account/pnl`);
    assert.equal(pnl.status, 200, JSON.stringify(pnl.body));
    const pnlBefore = s.sim.control.received({ clientId: 3, msgId: REQ_PNL }).length;
    const posBefore = s.sim.control.received({ clientId: 3, msgId: REQ_POSITIONS }).length;
    assert.equal(pnlBefore, 1);
    s.sim.control.sendNotice(1101);
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: REQ_PNL }).length === pnlBefore + 1,
      3000,
      'PnL resubscribed',
    );
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: REQ_POSITIONS }).length > posBefore,
      3000,
      'positions re-requested',
    );
    const again = await http(`${s.url}/account/pnl`);
    assert.equal(again.status, 200);
  });

  it('duplicate clientId → 326 on /health/ready and in metrics; connects with the same id once free', async () => {
    // Held until the worker has seen the refusal, then freed: a fixed hold raced the worker's start-up on a
    // loaded machine (the hold could end before the worker's first connect, and no 326 ever came).
    s.sim.control.holdClientId(4, 120_000);
    const w = await startWorker(
      loadConfig({
        IB_PORT: String(s.sim.port),
        IB_CLIENT_ID: '4',
        PORT: '0',
        IB_RECONNECT_MIN_MS: '100',
        IB_RECONNECT_MAX_MS: '300',
        IB_SYNC_TIMEOUT_MS: '2000',
        DATA_DIR: tempDataDir(),
        IB_MAINTENANCE_WINDOWS: 'none',
      }),
      { logger: createLogger('test', 'silent') },
    );
    try {
      const r = await eventually(
        async () => {
          const h = await http(`${w.url}/health/ready`);
          return h.body.ib?.clientIdInUse === true ? h : undefined;
        },
        30_000,
        '326 reported',
      );
      assert.equal(r!.status, 503);
      assert.equal(r!.body.ib.lastError.code, 326);
      assert.match((await http(`${w.url}/metrics`)).body, /^ibworker_ib_client_id_in_use_total [1-9]/m);
      s.sim.control.holdClientId(4, 0);
      await w.whenReady(30_000);
      const h = await http(`${w.url}/health/ready`);
      assert.equal(h.status, 200);
      assert.equal(h.body.ib.clientIdInUse, false);
      assert.ok(s.sim.control.connections().some((c) => c.clientId === 4));
      assert.deepEqual([...new Set(s.sim.control.received({ msgId: START_API }).map((m) => m.fields[1]))].sort(), [
        '3',
        '4',
      ]);
    } finally {
      s.sim.control.holdClientId(4, 0);
      await w.close();
    }
  });
  it('gateway restart mid-test → 503, reconnect with the same clientId, re-sync, answers again', async () => {
    // IB's nightly restart: every connection dropped, new ones refused for a while.
    const restartedAt = Date.now();
    const restarted = s.sim.control.restart({ downMs: 600 });
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 503, 3000, '503 during the restart');
    const during = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
    });
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get('retry-after')) >= 1);
    await restarted;
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 200, 8000, 'ready after the restart');
    const starts = s.sim.control.received({ msgId: START_API }).filter((m) => m.time >= restartedAt);
    // START_API carries [version, clientId, capabilities]: after the restart only clientId 3 came back.
    assert.ok(starts.length >= 1);
    assert.deepEqual([...new Set(starts.map((m) => m.fields[1]))], ['3']);
    assert.deepEqual(
      s.sim.control.connections().map((c) => c.clientId),
      [3],
    );
    const pos = await http(`${s.url}/account/positions`);
    assert.equal(pos.status, 200);
    assert.ok(pos.body.positions.length > 0);
    const metrics = (await http(`${s.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_ib_reconnects_total [1-9]/m);
    // PnL (subscribed in an earlier test) is live again in the new session.
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: REQ_PNL }).some((m) => m.time >= restartedAt),
      3000,
      'PnL resubscribed',
    );
    const pnl = await http(`${s.url}/account/pnl`);
    assert.equal(pnl.status, 200);
  });
});
