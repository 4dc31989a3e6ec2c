import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMaintenanceWindows } from '@ibrest/order-safety';
import { loadConfig } from '../src/index.js';
import { metricValue, openStream, request, startStack, type Stack } from './helpers.js';

const WINDOW_START = Date.parse('2026-03-10T10:00:00Z');

describe('maintenance windows', () => {
  let stack: Stack;
  let now = WINDOW_START + 30 * 60_000;
  const reachedWorkers = (): number => stack.stubs.reduce((n, w) => n + w.requests.length, 0);

  before(async () => {
    stack = await startStack(
      3,
      { maintenanceWindows: parseMaintenanceWindows('10:00-11:00 UTC') },
      { clock: () => now },
    );
  });
  after(() => stack.close());

  it('requests needing IB get 503 IB_MAINTENANCE_WINDOW with Retry-After to the end, reaching no worker', async () => {
    const cases: Array<[string, string, Record<string, string>?]> = [
      ['GET', '/contract?symbol=AAPL'],
      ['GET', '/historical?symbol=AAPL&secType=STK'],
      ['POST', '/order'],
      ['PUT', '/order/17'],
      ['DELETE', '/order/17'],
      ['POST', '/order/whatif'],
      ['POST', '/order/global-cancel'],
      ['GET', '/market/data?conId=1'],
      ['GET', '/account/summary'],
      ['GET', '/historical/ticks?symbol=AAPL&endDateTime=20260310-10:00:00'],
    ];
    const before = reachedWorkers();
    for (const [method, path] of cases) {
      const r = await request(stack.url + path, {
        method,
        ...(method === 'GET' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }),
      });
      assert.equal(r.status, 503, `${method} ${path}`);
      assert.equal(r.json.error.code, 'IB_MAINTENANCE_WINDOW');
      assert.equal(r.headers['retry-after'], '1800');
      assert.equal(r.json.error.details.endsAt, '2026-03-10T11:00:00.000Z');
    }
    const feed = await openStream(stack.url + '/market/data?conId=1');
    assert.equal(feed.status, 503);
    assert.equal(reachedWorkers(), before, 'nothing reached a worker');
    assert.equal(stack.proxy.budgets.use('lines').inUse, 0, 'a refused stream holds no line');
    assert.equal(await metricValue(stack.proxy, 'ibproxy_maintenance_rejections_total'), cases.length + 1);
  });

  it('mirror reads, order reads, the order event feed and the proxy routes still pass', async () => {
    // The manifest's `maintenance: 'served'` routes: the worker answers them from its mirror or journal.
    const passing = [
      '/accounts',
      '/account/positions',
      '/account/updates',
      '/account/pnl',
      '/order',
      '/order/17',
      '/order/events?since=3',
      '/executions',
    ];
    for (const path of passing) {
      const r = await request(stack.url + path);
      assert.equal(r.status, 200, path);
      assert.equal(typeof r.json.clientId, 'number', `${path} served by a worker`);
    }
    const events = await openStream(stack.url + '/order/events');
    await events.close();
    assert.equal(events.status, 200);
    assert.equal((await request(stack.url + '/health/ready')).status, 200);
    const clients = await request(stack.url + '/clients');
    assert.equal(clients.status, 200);
    assert.deepEqual(clients.json.maintenance, {
      configured: true,
      inWindow: true,
      window: '10:00-11:00 UTC',
      startedAt: '2026-03-10T10:00:00.000Z',
      endsAt: '2026-03-10T11:00:00.000Z',
    });
    const metrics = await request(stack.url + '/metrics');
    assert.match(metrics.text, /^ibproxy_maintenance_window 1$/m);
  });

  it('after the window everything flows again by itself', async () => {
    now = WINDOW_START + 60 * 60_000 + 1000;
    const r = await request(stack.url + '/contract?symbol=AAPL');
    assert.equal(r.status, 200);
    assert.equal((await request(stack.url + '/order', { method: 'POST', body: '{}' })).json.clientId, 0);
    assert.match((await request(stack.url + '/metrics')).text, /^ibproxy_maintenance_window 0$/m);
    const clients = await request(stack.url + '/clients');
    assert.equal(clients.json.maintenance.inWindow, false);
    assert.equal(clients.json.maintenance.nextStartsAt, '2026-03-11T10:00:00.000Z');
  });

  it('IB_MAINTENANCE_WINDOWS is validated; `none` turns the check off', () => {
    assert.deepEqual(loadConfig({ IB_MAINTENANCE_WINDOWS: 'none' }).maintenanceWindows, []);
    assert.equal(loadConfig({}).maintenanceWindows.length, 2, "IB's daily and weekly resets by default");
    assert.throws(
      () => loadConfig({ IB_MAINTENANCE_WINDOWS: '25:00-01:00 UTC' }),
      /Expected IB_MAINTENANCE_WINDOWS entry 1/,
    );
  });
});
