import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually, http as fetchJson } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const STREAMS = 1000;
const ORDER_EVENT_STREAMS = 200;
const ORDER = JSON.stringify({
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'LMT', totalQuantity: 1, lmtPrice: 1 },
});

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
 * Streams cannot starve orders: a thousand open streams (200 of them order-event streams on worker 0, the order
 * worker) and order placement still answers promptly through the proxy, with the order at the simulator.
 */
describe('isolation – streams and orders through the proxy', () => {
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

  test(`orders are placed in under a second while ${STREAMS} streams are open`, async () => {
    // One order before the streams: the worker's first order pays one-time costs (contract lookup, JIT).
    assert.equal((await fetchJson(`${stack.proxyUrl}/order`, { method: 'POST', body: ORDER })).status, 201);
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
    const metric = async () => (await fetchJson<string>(`${stack.proxyUrl}/metrics`)).body.match(/^ibproxy_open_streams (\d+)/m)?.[1];
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
});
