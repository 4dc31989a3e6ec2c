import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually, http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const limitBuy = (qty: number) =>
  JSON.stringify({ contract: AAPL, order: { action: 'BUY', orderType: 'LMT', lmtPrice: 1, totalQuantity: qty } });

/** Sends raw header pairs (so one name can appear twice, as a careless client may send it). */
function rawPost(
  base: string,
  path: string,
  headerPairs: string[],
  body: string,
): Promise<{ status: number; json: any }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: [
          'host',
          url.host,
          ...headerPairs,
          'content-type',
          'application/json',
          'content-length',
          String(Buffer.byteLength(body)),
        ],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Idempotency-Key as a trader meets it through the proxy: a key is either usable or refused with 400 before
 * anything reaches IB, and a key answers only the request it was first used for (method, path, query, body).
 */
describe('idempotency keys – strict keys and a fingerprint that covers the query', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2 });
  });
  after(async () => {
    await stack?.stop();
  });

  test('an empty, blank, over-long or non-ASCII key gets 400 naming the header; nothing reaches IB', async () => {
    const before = stack.sim.control.orders().length;
    for (const key of ['', '   ', 'x'.repeat(256), 'cl\u00e9-1']) {
      const r = await rawPost(stack.proxyUrl, '/order', ['Idempotency-Key', key], limitBuy(1));
      assert.equal(r.status, 400, `key ${JSON.stringify(key.slice(0, 20))}: ${JSON.stringify(r.json)}`);
      assert.match(JSON.stringify(r.json.error), /idempotency-key/i);
    }
    assert.equal(stack.sim.control.orders().length, before, 'no order reached the simulator');
  });

  test('two Idempotency-Key headers are refused with 400, never joined into one key', async () => {
    const before = stack.sim.control.orders().length;
    const [a, b] = [randomUUID(), randomUUID()];
    const r = await rawPost(stack.proxyUrl, '/order', ['Idempotency-Key', a, 'Idempotency-Key', b], limitBuy(1));
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.match(JSON.stringify(r.json.error), /idempotency-key/i);
    assert.equal(stack.sim.control.orders().length, before);
    // Neither key was claimed: each places its own order afterwards.
    for (const key of [a, b]) {
      const ok = await http(`${stack.proxyUrl}/order`, {
        method: 'POST',
        body: limitBuy(1),
        headers: { 'idempotency-key': key, 'content-type': 'application/json' },
      });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    }
    assert.equal(stack.sim.control.orders().length, before + 2);
  });

  test('a key used to cancel one order never replays that cancel on another (the query is fingerprinted)', async () => {
    const place = async () => {
      const r = await http(`${stack.proxyUrl}/order`, {
        method: 'POST',
        body: limitBuy(2),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.orderId as number;
    };
    const first = await place();
    const second = await place();
    const key = randomUUID();
    const cancel = (id: number) =>
      http(`${stack.proxyUrl}/order?orderId=${id}`, { method: 'DELETE', headers: { 'idempotency-key': key } });
    const c1 = await cancel(first);
    assert.ok(c1.status < 300, JSON.stringify(c1.body));
    const c2 = await cancel(second);
    assert.equal(c2.status, 409, JSON.stringify(c2.body));
    assert.equal(c2.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    // The second order is still working at the simulator: the refused cancel never reached IB.
    const atSim = (await eventually(() => stack.sim.control.orders().find((o) => o.orderId === second)))!;
    assert.notEqual(atSim.status, 'Cancelled');
    const replay = await cancel(first);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  });

  test('the same key and body with another `wait` is a different request (409), not a replay', async () => {
    const key = randomUUID();
    const headers = { 'idempotency-key': key, 'content-type': 'application/json' };
    const placed = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: limitBuy(3), headers });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const other = await http(`${stack.proxyUrl}/order?wait=filled&timeout=1`, {
      method: 'POST',
      body: limitBuy(3),
      headers,
    });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });
});
