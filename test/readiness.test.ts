import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { eventually, http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const STK = 'secType=STK&exchange=SMART&currency=USD';
const LIMIT_ORDER = JSON.stringify({
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'LMT', totalQuantity: 1, lmtPrice: 1 },
});

/** Every IB-bound route family, as a caller would ask it (each request with a short deadline). */
const ROUTES: Array<{ method: string; path: string; body?: string }> = [
  { method: 'GET', path: `/contract?symbol=AAPL&${STK}` },
  { method: 'GET', path: '/contract/search?pattern=AA' },
  { method: 'GET', path: '/contract/options?symbol=AAPL' },
  { method: 'GET', path: `/historical?symbol=MSFT&${STK}&durationStr=1%20D&barSizeSetting=1%20hour` },
  { method: 'GET', path: `/historical/head-timestamp?symbol=IBM&${STK}` },
  { method: 'GET', path: `/market/data?symbol=AAPL&${STK}` },
  { method: 'GET', path: '/market/depth/exchanges' },
  { method: 'GET', path: '/market/scanners/parameters' },
  { method: 'GET', path: `/fundamental?symbol=SPY&${STK}&reportType=ReportSnapshot` },
  { method: 'GET', path: '/account/summary' },
  { method: 'GET', path: '/account/pnl' },
  { method: 'POST', path: '/order', body: LIMIT_ORDER },
  { method: 'POST', path: '/order/whatif', body: LIMIT_ORDER },
];

/** IB refusals of what the caller asked, pacing and IB trouble: none of them says a worker is unwell. */
const REFUSALS = [200, 162, 201, 203, 321, 322, 354, 366, 387, 430, 10089, 10090, 10092, 10168, 100, 420, 502, 504, 10182];

const withTimeout = (path: string) => `${path}${path.includes('?') ? '&' : '?'}timeout=2`;

/**
 * Readiness per capability, end to end: the real simulator, eight worker processes and the proxy process.
 * A farm down, a lost IB link and a flood of IB refusals each change only what they should.
 */
describe('readiness – capabilities and blame through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const clients = async () =>
    (await http<{ clients: Array<{ clientId: number; up: boolean; capabilities: string[] }> }>(`${stack.proxyUrl}/clients`)).body.clients;
  const allUp = async () => assert.deepEqual((await clients()).filter((w) => w.up).map((w) => w.clientId), [0, 1, 2, 3, 4, 5, 6, 7]);

  test('a market-data farm down: orders, positions, executions and contracts work; market data answers 503 naming it', async () => {
    const flap = stack.sim.control.flapFarm('usfarm', { downMs: 8_000 });
    await eventually(async () => assert.ok((await clients()).every((w) => !w.capabilities.includes('marketData'))), 5_000);
    await allUp();
    const before = stack.sim.control.orders().length;
    const order = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    assert.equal(stack.sim.control.orders().length, before + 1, 'the order reached the simulator');
    for (const path of ['/account/positions', '/executions', `/contract?symbol=AAPL&${STK}`]) {
      const res = await http(`${stack.proxyUrl}${path}`);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    }
    const md = await http(`${stack.proxyUrl}/market/data?symbol=AAPL&${STK}`);
    assert.equal(md.status, 503);
    assert.equal(md.body.error.code, 'MARKET_DATA_UNAVAILABLE');
    assert.equal(md.body.error.details.capability, 'marketData');
    assert.ok(Number(md.headers.get('retry-after')) >= 1);
    await flap;
    await eventually(async () => assert.ok((await clients()).every((w) => w.capabilities.includes('marketData'))), 5_000);
    assert.equal((await http(`${stack.proxyUrl}/market/data?symbol=AAPL&${STK}`)).status, 200);
  });

  test('IB link down (1100): mirror reads answer with their age, the rest 503 naming the link; 1102 restores', async () => {
    stack.sim.control.sendNotice(1100);
    try {
      // The proxy learns it from each worker's readiness (probed every 2 s while up).
      await eventually(async () => assert.ok((await clients()).every((w) => !w.capabilities.includes('link') && w.capabilities.includes('mirror'))), 5_000);
      const stale = await eventually(async () => {
        const res = await http(`${stack.proxyUrl}/account/positions`);
        assert.equal(res.status, 200);
        assert.notEqual(res.headers.get('x-ibrest-mirror-age'), null);
        return res;
      }, 5_000);
      assert.ok(Number(stale.headers.get('x-ibrest-mirror-age')) >= 0);
      const orders = await http(`${stack.proxyUrl}/order`);
      assert.equal(orders.status, 200, 'open orders come from worker 0’s mirror');
      assert.notEqual(orders.headers.get('x-ibrest-mirror-age'), null);
      const before = stack.sim.control.orders().length;
      const place = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
      assert.equal(place.status, 503);
      assert.equal(place.body.error.code, 'LINK_UNAVAILABLE');
      assert.ok(Number(place.headers.get('retry-after')) >= 1);
      assert.equal(stack.sim.control.orders().length, before, 'nothing reached IB');
      const contract = await http(`${stack.proxyUrl}/contract?symbol=AAPL&${STK}`);
      assert.equal(contract.status, 503);
      assert.equal(contract.body.error.code, 'LINK_UNAVAILABLE');
    } finally {
      stack.sim.control.sendNotice(1102);
    }
    await eventually(allUp, 5_000);
    const live = await http(`${stack.proxyUrl}/account/positions`);
    assert.equal(live.status, 200);
    assert.equal(live.headers.get('x-ibrest-mirror-age'), null);
  });

  test('1,000 requests IB refuses leave all eight workers in rotation; every refusal blames its party', async () => {
    const passiveDownBefore = await passiveDowns();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ route: fc.integer({ min: 0, max: ROUTES.length - 1 }), code: fc.constantFrom(...REFUSALS) }), { minLength: 50, maxLength: 50 }),
        async (batch) => {
          for (const b of batch) stack.sim.control.refuseNext({ code: b.code });
          const answers = await Promise.all(
            batch.map(async (b) => {
              const r = ROUTES[b.route]!;
              const init: RequestInit = r.body === undefined ? { method: r.method } : { method: r.method, body: r.body };
              return { route: r, res: await http(`${stack.proxyUrl}${withTimeout(r.path)}`, init) };
            }),
          );
          sent += batch.length;
          for (const { route, res } of answers) {
            const what = `${route.method} ${route.path} → ${res.status} ${JSON.stringify(res.body)}`;
            assert.ok(res.status < 500 || res.status === 503 || res.status === 504, what);
            if (res.status === 429 || res.status === 503) assert.ok(Number(res.headers.get('retry-after')) >= 1, what);
            if (res.status >= 400) assert.equal(typeof res.body.error.code, 'string', what);
            if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.body.error.ibCode !== undefined) {
              assert.ok(REFUSALS.includes(res.body.error.ibCode), what);
            }
          }
          await allUp();
        },
      ),
      { numRuns: 20, seed: 17 },
    );
    stack.sim.control.clearRefusals();
    assert.equal(sent, 1000);
    await allUp();
    assert.equal(await passiveDowns(), passiveDownBefore, 'passive health never took a worker out');
    const order = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
    assert.equal(order.status, 201, 'order flow goes on');
  });

  const passiveDowns = async (): Promise<number> => {
    const text = (await http<string>(`${stack.proxyUrl}/metrics`)).body;
    return text
      .split('\n')
      .filter((l) => l.startsWith('ibproxy_passive_health_down_total{'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
});
