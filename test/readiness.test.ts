import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import http from 'node:http';
import fc from 'fast-check';
import { eventually, http as fetchJson } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const STK = 'secType=STK&exchange=SMART&currency=USD';
const LIMIT_ORDER = JSON.stringify({
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'LMT', totalQuantity: 1, lmtPrice: 1 },
});

/** IB refusals of a data request, pacing and IB trouble: none of them says a worker is unwell. */
const DATA_REFUSALS = [200, 162, 321, 322, 354, 366, 430, 10089, 10090, 10092, 10168, 100, 420, 502, 504, 10182];
/** IB refusals of an order. */
const ORDER_REFUSALS = [201, 203, 387, 434];
const REFUSALS = [...DATA_REFUSALS, ...ORDER_REFUSALS];

/**
 * Every IB-bound route family with a request id, as a caller would ask it (each with a short deadline), and the
 * message it sends to IB: the refusal is armed for that message, as IB refuses the request it was sent.
 */
const ROUTES: Array<{ method: string; path: string; body?: string; msg: string; codes: number[] }> = [
  { method: 'GET', path: `/contract?symbol=AAPL&${STK}`, msg: 'REQ_CONTRACT_DATA', codes: DATA_REFUSALS },
  { method: 'GET', path: '/contract/search?pattern=AA', msg: 'REQ_MATCHING_SYMBOLS', codes: DATA_REFUSALS },
  { method: 'GET', path: '/contract/options?symbol=AAPL', msg: 'REQ_SEC_DEF_OPT_PARAMS', codes: DATA_REFUSALS },
  {
    method: 'GET',
    path: `/historical?symbol=MSFT&${STK}&durationStr=1%20D&barSizeSetting=1%20hour`,
    msg: 'REQ_HISTORICAL_DATA',
    codes: DATA_REFUSALS,
  },
  {
    method: 'GET',
    path: `/historical/head-timestamp?symbol=IBM&${STK}`,
    msg: 'REQ_HEAD_TIMESTAMP',
    codes: DATA_REFUSALS,
  },
  { method: 'GET', path: `/market/data?symbol=AAPL&${STK}`, msg: 'REQ_MKT_DATA', codes: DATA_REFUSALS },
  {
    method: 'GET',
    path: `/fundamental?symbol=SPY&${STK}&reportType=ReportSnapshot`,
    msg: 'REQ_FUNDAMENTAL_DATA',
    codes: DATA_REFUSALS,
  },
  { method: 'GET', path: '/account/summary', msg: 'REQ_ACCOUNT_SUMMARY', codes: DATA_REFUSALS },
  { method: 'GET', path: '/account/pnl', msg: 'REQ_PNL', codes: DATA_REFUSALS },
  { method: 'POST', path: '/order', body: LIMIT_ORDER, msg: 'PLACE_ORDER', codes: ORDER_REFUSALS },
];

const STREAMS = 1000;
const ORDER_EVENT_STREAMS = 200;
const ORDER = LIMIT_ORDER;

/** One request of the fuzz: which route, and which IB refusal is armed for its message. */
const REQUEST = fc
  .integer({ min: 0, max: ROUTES.length - 1 })
  .chain((route) => fc.record({ route: fc.constant(route), code: fc.constantFrom(...ROUTES[route]!.codes) }));

const withTimeout = (path: string) => `${path}${path.includes('?') ? '&' : '?'}timeout=2`;

/** Opens one SSE stream and resolves with its status once the headers are in; the stream stays open. */
function openStream(url: string, agent: http.Agent): Promise<{ status: number; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      res.on('data', () => undefined);
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, req });
    });
    req.on('error', reject);
  });
}

/**
 * Readiness per capability, end to end: the real simulator, eight worker processes and the proxy process.
 * A farm down, a lost IB link and a flood of IB refusals each change only what they should; a thousand open
 * streams (200 of them order-event streams on worker 0, the order worker) cannot starve order placement.
 */
describe('readiness – capabilities and blame through the proxy', () => {
  let stack: Stack;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const open: http.ClientRequest[] = [];
  before(async () => {
    stack = await startStack({ proxyEnv: { MAX_STREAMS_PER_KEY: String(STREAMS) } });
  });
  after(async () => {
    for (const req of open) req.destroy();
    agent.destroy();
    await stack?.stop();
  });

  type Client = { clientId: number; up: boolean; capabilities: string[] };
  const clients = async () => (await fetchJson<{ clients: Client[] }>(`${stack.proxyUrl}/clients`)).body.clients;
  const allUp = async () => {
    const up = (await clients()).filter((w) => w.up).map((w) => w.clientId);
    assert.deepEqual(up, [0, 1, 2, 3, 4, 5, 6, 7]);
  };
  const everyWorker = (check: (w: Client) => boolean) => async () => assert.ok((await clients()).every(check));

  test('a market-data farm down: orders, positions, executions, contracts work; market data 503 names it', async () => {
    const flap = stack.sim.control.flapFarm('usfarm', { downMs: 8_000 });
    await eventually(
      everyWorker((w) => !w.capabilities.includes('marketData')),
      5_000,
    );
    await allUp();
    const before = stack.sim.control.orders().length;
    const order = await fetchJson(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    assert.equal(stack.sim.control.orders().length, before + 1, 'the order reached the simulator');
    for (const path of ['/account/positions', '/executions', `/contract?symbol=AAPL&${STK}`]) {
      const res = await fetchJson(`${stack.proxyUrl}${path}`);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    }
    const md = await fetchJson(`${stack.proxyUrl}/market/data?symbol=AAPL&${STK}`);
    assert.equal(md.status, 503);
    assert.equal(md.body.error.code, 'MARKET_DATA_UNAVAILABLE');
    assert.equal(md.body.error.details.capability, 'marketData');
    assert.ok(Number(md.headers.get('retry-after')) >= 1);
    await flap;
    await eventually(
      everyWorker((w) => w.capabilities.includes('marketData')),
      5_000,
    );
    assert.equal((await fetchJson(`${stack.proxyUrl}/market/data?symbol=AAPL&${STK}`)).status, 200);
  });

  test('link down (1100): mirror reads answer with their age, the rest 503 naming the link; 1102 back', async () => {
    stack.sim.control.sendNotice(1100);
    try {
      // The proxy learns it from each worker's readiness (probed every 2 s while up).
      const linkDown = (w: Client) => !w.capabilities.includes('link') && w.capabilities.includes('mirror');
      await eventually(everyWorker(linkDown), 5_000);
      const stale = await eventually(async () => {
        const res = await fetchJson(`${stack.proxyUrl}/account/positions`);
        assert.equal(res.status, 200);
        assert.notEqual(res.headers.get('x-ibrest-mirror-age'), null);
        return res;
      }, 5_000);
      assert.ok(Number(stale.headers.get('x-ibrest-mirror-age')) >= 0);
      const orders = await fetchJson(`${stack.proxyUrl}/order`);
      assert.equal(orders.status, 200, 'open orders come from worker 0’s mirror');
      assert.notEqual(orders.headers.get('x-ibrest-mirror-age'), null);
      const before = stack.sim.control.orders().length;
      const place = await fetchJson(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
      assert.equal(place.status, 503);
      assert.equal(place.body.error.code, 'LINK_UNAVAILABLE');
      assert.ok(Number(place.headers.get('retry-after')) >= 1);
      assert.equal(stack.sim.control.orders().length, before, 'nothing reached IB');
      const contract = await fetchJson(`${stack.proxyUrl}/contract?symbol=AAPL&${STK}`);
      assert.equal(contract.status, 503);
      assert.equal(contract.body.error.code, 'LINK_UNAVAILABLE');
    } finally {
      stack.sim.control.sendNotice(1102);
    }
    await eventually(allUp, 5_000);
    const live = await fetchJson(`${stack.proxyUrl}/account/positions`);
    assert.equal(live.status, 200);
    assert.equal(live.headers.get('x-ibrest-mirror-age'), null);
  });

  test('1,000 requests IB refuses leave all eight workers in rotation; every refusal blames its party', async () => {
    const passiveDownBefore = await passiveDowns();
    let sent = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(REQUEST, { minLength: 50, maxLength: 50 }), async (batch) => {
          for (const b of batch) stack.sim.control.refuseNext({ name: ROUTES[b.route]!.msg, code: b.code });
          const answers = await Promise.all(
            batch.map(async (b) => {
              const r = ROUTES[b.route]!;
              const init: RequestInit = { method: r.method, ...(r.body === undefined ? {} : { body: r.body }) };
              return { route: r, res: await fetchJson(`${stack.proxyUrl}${withTimeout(r.path)}`, init) };
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
        }),
        { numRuns: 20, seed: 17 },
      );
    } finally {
      stack.sim.control.clearRefusals();
    }
    assert.equal(sent, 1000);
    await allUp();
    assert.equal(await passiveDowns(), passiveDownBefore, 'passive health never took a worker out');
    const order = await fetchJson(`${stack.proxyUrl}/order`, { method: 'POST', body: LIMIT_ORDER });
    assert.equal(order.status, 201, 'order flow goes on');
  });

  test(`orders are placed in under a second while ${STREAMS} streams are open`, async () => {
    // More order-event streams than the old shared pool had sockets (64), all on worker 0, and the rest on a
    // news feed (one IB subscription shared by every caller, on one of workers 1–7).
    for (let i = 0; i < STREAMS; i += 100) {
      const path = i < ORDER_EVENT_STREAMS ? '/order/events?format=sse' : '/news?format=sse';
      const batch = await Promise.all(Array.from({ length: 100 }, () => openStream(`${stack.proxyUrl}${path}`, agent)));
      for (const s of batch) {
        open.push(s.req);
        assert.equal(s.status, 200, path);
      }
    }
    const metric = async () =>
      (await fetchJson<string>(`${stack.proxyUrl}/metrics`)).body.match(/^ibproxy_open_streams (\d+)/m)?.[1];
    await eventually(async () => assert.equal(await metric(), String(STREAMS)), 5_000);
    const over = await openStream(`${stack.proxyUrl}/order/events?format=sse`, agent);
    open.push(over.req);
    assert.equal(over.status, 429, 'the per-key stream limit holds');
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = stack.sim.control.orders().length;
      const started = performance.now();
      const res = await fetchJson(`${stack.proxyUrl}/order`, { method: 'POST', body: ORDER });
      took.push(Math.round(performance.now() - started));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(stack.sim.control.orders().length, before + 1, 'the order is at the simulator');
    }
    // A behaviour bound, not a speed target: without separate pools these waited for ever. The median keeps
    // it honest on a loaded two-core machine; none may come near a timeout.
    const median = [...took].sort((x, y) => x - y)[2]!;
    assert.ok(median < 1000 && took.every((ms) => ms < 5000), `orders took ${took.join(', ')} ms`);
  });

  const passiveDowns = async (): Promise<number> => {
    const text = (await fetchJson<string>(`${stack.proxyUrl}/metrics`)).body;
    return text
      .split('\n')
      .filter((l) => l.startsWith('ibproxy_passive_health_down_total{'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
});
