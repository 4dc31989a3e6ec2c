import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, http } from './helpers/eventually.js';
import { openSse } from './helpers/sse.js';
import { startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const body = (qty: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: qty, ...extra } });

/** The order path end to end: idempotency through the proxy, the order-event feed, what-if previews. */
describe('orders – idempotency, events and previews through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2 });
  });
  after(async () => {
    await stack?.stop();
  });

  test('a retried POST /order with the same Idempotency-Key is placed once and replayed', async () => {
    const key = randomUUID();
    const before = stack.sim.control.orders().length;
    const headers = { 'idempotency-key': key };
    const [first, second] = await Promise.all([
      http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(3), headers }),
      http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(3), headers }),
    ]);
    const third = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(3), headers });
    for (const r of [first, second, third]) assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(second.body.orderId, first.body.orderId);
    assert.equal(third.body.orderId, first.body.orderId);
    assert.equal(third.headers.get('idempotent-replayed'), 'true');
    assert.equal(stack.sim.control.orders().length, before + 1, 'the simulator saw exactly one order');
    const placed = stack.sim.control.orders().find((o) => o.orderId === first.body.orderId)!;
    assert.ok(placed.orderRef.length > 0, 'orderRef carries the key so the order can be found after a crash');

    const reused = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(4), headers });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(stack.sim.control.orders().length, before + 1);
  });

  test('order events: SSE with Last-Event-ID resumes without losing or repeating an event', async () => {
    await http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(1) });
    const first = await openSse(`${stack.proxyUrl}/order/events?since=0`);
    assert.equal(first.status, 200);
    await first.next((e) => e.event !== 'status' && e.id !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    first.close();
    const seen = first.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    assert.ok(seen.length > 0);
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1]! + 1, 'cursors are contiguous');
    const lastId = seen[seen.length - 1]!;

    // Events happen while nobody listens…
    const missed = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: body(2) });
    assert.equal(missed.status, 201);
    const journal = await eventually(async () => {
      const page = await http(`${stack.proxyUrl}/order/events?since=${lastId}&limit=1000`);
      assert.ok(page.body.events.some((e: { orderId?: number }) => e.orderId === missed.body.orderId));
      return page.body.events as Array<{ cursor: number }>;
    });

    // …and a reconnect with Last-Event-ID gets exactly those, in order.
    const resumed = await openSse(`${stack.proxyUrl}/order/events`, { 'last-event-id': String(lastId) });
    try {
      const want = journal.map((e) => e.cursor);
      await resumed.next((e) => Number(e.id) === want[want.length - 1]);
      const got = resumed.events
        .filter((e) => e.id !== undefined)
        .map((e) => Number(e.id))
        .slice(0, want.length);
      assert.deepEqual(got, want);
      assert.equal(got[0], lastId + 1, 'nothing lost between the two connections');
    } finally {
      resumed.close();
    }
    const atom = await http<string>(`${stack.proxyUrl}/order/events?format=atom`);
    assert.equal(atom.status, 200);
    assert.match(atom.body, /<feed[^>]*xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);
  });

  test('POST /order/whatif previews margin and commission, and nothing is placed', async () => {
    const before = stack.sim.control.orders().length;
    const res = await http(`${stack.proxyUrl}/order/whatif`, {
      method: 'POST',
      body: body(100, { orderType: 'LMT', lmtPrice: 150 }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ib-client-id'), '0');
    const text = JSON.stringify(res.body);
    assert.match(text, /initMarginChange/);
    assert.match(text, /commission/);
    assert.equal(stack.sim.control.orders().length, before, 'a preview is never an order');
  });
});
