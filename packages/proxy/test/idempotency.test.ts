import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startStack, type Stack } from './helpers.js';

describe('Idempotency-Key pass-through', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(3);
  });
  after(() => stack.close());

  const KEY = 'Order-Key_01:ABC/xyz=+.~';
  const body = JSON.stringify({
    contract: { symbol: 'AAPL', secType: 'STK' },
    order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 },
  });

  it('a retried POST /order with the same key is forwarded twice, unchanged; the replay marker returns', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': KEY };
    const first = await request(stack.url + '/order', { method: 'POST', body, headers });
    const second = await request(stack.url + '/order', { method: 'POST', body, headers });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const seen = stack.stubs[0]!.requests.filter((r) => r.method === 'POST' && r.url === '/order');
    assert.equal(seen.length, 2, 'the proxy neither dedupes nor caches');
    for (const r of seen) {
      assert.equal(r.headers['idempotency-key'], KEY);
      assert.equal(r.body, body);
    }
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.json.orderId, first.json.orderId);
    assert.equal(second.headers['x-ib-client-id'], '0');
  });

  it('PUT and DELETE /order/:id carry the key to worker 0 too; no other worker sees it', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const r = await request(stack.url + '/order/17', {
        method,
        body: method === 'PUT' ? body : undefined,
        headers: { 'idempotency-key': `${method}-1`, 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200);
      assert.equal(r.json.clientId, 0);
      assert.equal(r.json.headers['idempotency-key'], `${method}-1`);
    }
    assert.ok(stack.stubs.slice(1).every((w) => w.requests.every((r) => r.headers['idempotency-key'] === undefined)));
  });
});
