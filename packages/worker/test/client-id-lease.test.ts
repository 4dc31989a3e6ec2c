import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@ibrest/common';
import { startGatewaySim, type RunningGatewaySim } from '@ibrest/gateway-sim';
import { loadConfig } from '../src/config.js';
import { startWorker, type WorkerHandle } from '../src/worker.js';
import { AAPL, eventually, http, tempDataDir } from './helpers.js';

describe('clientId leases – a clientId stuck with 326', () => {
  let sim: RunningGatewaySim;
  const dirs: string[] = [];
  const workers: WorkerHandle[] = [];
  before(async () => {
    sim = await startGatewaySim({ port: 0, tickIntervalMs: 0 });
  });
  after(async () => {
    for (const w of workers) await w.close();
    await sim.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const start = async (clientId: number, spares: string) => {
    const dir = tempDataDir();
    dirs.push(dir);
    const w = await startWorker(
      loadConfig({
        IB_PORT: String(sim.port),
        IB_CLIENT_ID: String(clientId),
        IB_SPARE_CLIENT_IDS: spares,
        IB_CLIENT_ID_FALLBACK_AFTER: '2',
        PORT: '0',
        IB_RECONNECT_MIN_MS: '30',
        IB_RECONNECT_MAX_MS: '60',
        IB_SYNC_TIMEOUT_MS: '2000',
        DATA_DIR: dir,
        ORDER_DATA_FSYNC: 'false',
        IB_MAINTENANCE_WINDOWS: 'none',
      }),
      { logger: createLogger('test', 'silent') },
    );
    workers.push(w);
    return w;
  };

  it('a worker refused twice moves to its spare, says so in /health/ready and metrics, trades under it', async () => {
    sim.control.holdClientId(5, 30_000);
    const w = await start(5, '12,13');
    await w.whenReady(8000);
    const h = await http(`${w.url}/health/ready`);
    assert.equal(h.status, 200, JSON.stringify(h.body));
    assert.equal(h.body.clientId, 12);
    assert.equal(h.body.configuredClientId, 5);
    assert.equal(h.body.lease, 'spare');
    assert.ok(sim.control.connections().some((c) => c.clientId === 12));
    const metrics = (await http(`${w.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_client_id_lease 12$/m);
    assert.match(metrics, /^ibworker_client_id_fallbacks_total 1$/m);
    const placed = await http(`${w.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 10 } },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.clientId, 12);
    assert.ok(sim.control.orders().some((o) => o.clientId === 12 && o.orderId === placed.body.orderId));
  });

  it('clientId 0 never falls back: /health/ready 503 CLIENT_ID_STUCK and the stuck gauge', async () => {
    sim.control.holdClientId(0, 30_000);
    const w = await start(0, '14');
    const h = await eventually(
      async () => {
        const r = await http(`${w.url}/health/ready`);
        return r.body.code === 'CLIENT_ID_STUCK' ? r : undefined;
      },
      5000,
      'CLIENT_ID_STUCK',
    );
    assert.equal(h!.status, 503);
    assert.equal(h!.body.clientId, 0);
    assert.equal(h!.body.lease, 'configured');
    assert.ok(Number(h!.headers.get('retry-after')) >= 1);
    assert.ok(!sim.control.connections().some((c) => c.clientId === 14));
    const metrics = (await http(`${w.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_client_id_stuck 1$/m);
    assert.match(metrics, /^ibworker_client_id_fallbacks_total 0$/m);
    const order = await http(`${w.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
    });
    assert.equal(order.status, 503);
  });
});
