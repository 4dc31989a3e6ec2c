import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { configWithDefaults } from '../src/index.js';
import { metricValue, openStream, request, startStack, type OpenStream, type Stack } from './helpers.js';

const base = configWithDefaults({ workers: [] });

interface Answer {
  status: number;
  body: string;
}

/** Sends headers and `bytes` of a declared larger body, then stalls; resolves with the answer if one comes. */
function stalledUpload(url: string, declared: number, bytes: number): { answer: Promise<Answer>; destroy(): void } {
  const headers = { 'content-type': 'application/json', 'content-length': String(declared) };
  const req = http.request(url + '/order', { method: 'POST', agent: false, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(Buffer.alloc(bytes, 0x20));
  return { answer, destroy: () => req.destroy() };
}

describe('isolation – upstream pools, stream limits, body limits', () => {
  let stack: Stack | undefined;
  const streams: OpenStream[] = [];
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
    await stack?.close();
    stack = undefined;
  });

  it('no upstream connection free in time → 503 UPSTREAM_BUSY with Retry-After', async () => {
    stack = await startStack(2, { upstream: { ...base.upstream, maxSockets: 2, queueTimeoutMs: 200 } });
    const slow = Array.from({ length: 2 }, () => request(stack!.url + '/contract?stub=slow&ms=1500'));
    const started = Date.now();
    const busy = await request(stack.url + '/contract?stub=slow&ms=10');
    assert.equal(busy.status, 503);
    assert.equal(busy.json.error.code, 'UPSTREAM_BUSY');
    assert.ok(Number(busy.headers['retry-after']) >= 1);
    assert.ok(Date.now() - started < 1400, 'answered at the wait limit, not after the slow requests');
    assert.deepEqual(
      (await Promise.all(slow)).map((r) => r.status),
      [200, 200],
    );
    assert.equal(await metricValue(stack.proxy, 'ibproxy_upstream_busy_total', { pool: 'requests' }), 1);
    assert.equal(stack.proxy.pool.get(1)!.up, true, 'a full pool is not a worker failure');
  });

  it('order operations keep their own connections while streams hold more than the request pool', async () => {
    const upstream = { ...base.upstream, maxSockets: 4, orderSockets: 4, queueTimeoutMs: 300 };
    stack = await startStack(2, { upstream });
    for (const s of stack.stubs) s.holdFeeds = true;
    for (let i = 0; i < 40; i++) streams.push(await openStream(`${stack.url}/order/events?format=sse&i=${i}`));
    assert.ok(streams.every((s) => s.status === 200));
    const seen = stack.stubs[0]!.requests.length;
    for (let i = 0; i < 3; i++) {
      const order = await request(stack.url + '/order', { method: 'POST', body: '{"contract":{},"order":{}}' });
      assert.equal(order.status, 200, JSON.stringify(order.json));
    }
    // Each order operation on a connection of its own: a worker that died in between answers "refused", never a
    // reset on a pooled socket that leaves the caller unsure whether the order went out.
    const sockets = stack.stubs[0]!.requests.slice(seen)
      .filter((r) => r.url === '/order')
      .map((r) => r.socketId);
    assert.equal(new Set(sockets).size, 3);
  });

  it('order operations never ride a reused connection: a cut keep-alive one cannot turn into a 502', async () => {
    stack = await startStack(2);
    // Worker 0 cuts any reused connection, as one that died between two requests would: only a fresh
    // connection per order operation gets through, and a refused fresh one is a clean 503 (nothing was sent).
    stack.stubs[0]!.cutReusedConnections = true;
    for (let i = 0; i < 10; i++) {
      assert.equal((await request(stack.url + '/order')).status, 200, `read ${i}`);
      const r = await request(stack.url + '/order', { method: 'POST', body: '{}' });
      assert.equal(r.status, 200, `order ${i}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  });

  it('open streams are limited per key (429 STREAM_LIMIT) and in total', async () => {
    stack = await startStack(2, { streams: { perKey: 3, total: 100 } });
    for (const s of stack.stubs) s.holdFeeds = true;
    for (let i = 0; i < 3; i++) streams.push(await openStream(`${stack.url}/news?format=sse&i=${i}`));
    const refused = await openStream(`${stack.url}/news?format=sse&i=9`);
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.received()).error.code, 'STREAM_LIMIT');
    await streams.pop()!.close();
    const again = await openStream(`${stack.url}/news?format=sse&i=10`);
    assert.equal(again.status, 200, 'a closed stream frees its place');
    streams.push(again);
  });

  it('stalled uploads hold at most the body budget: the next one gets 503 BODY_BUDGET_EXHAUSTED', async () => {
    const client = { ...base.client, maxBodyBytes: 1 << 20, maxBodyBytesInFlight: 256 * 1024, bodyTimeoutMs: 5_000 };
    stack = await startStack(2, { client });
    const uploads = Array.from({ length: 6 }, () => stalledUpload(stack!.url, 900_000, 100 * 1024));
    const refused = await Promise.race(uploads.map((u) => u.answer));
    assert.equal(refused.status, 503, refused.body);
    assert.equal(JSON.parse(refused.body).error.code, 'BODY_BUDGET_EXHAUSTED');
    assert.ok((await metricValue(stack.proxy, 'ibproxy_body_bytes_in_flight')) <= 256 * 1024);
    for (const u of uploads) u.destroy();
  });

  it('a body that does not arrive in time answers 408 BODY_TIMEOUT', async () => {
    stack = await startStack(2, { client: { ...base.client, bodyTimeoutMs: 300 } });
    const u = stalledUpload(stack.url, 1000, 10);
    const r = await u.answer;
    assert.equal(r.status, 408);
    assert.equal(JSON.parse(r.body).error.code, 'BODY_TIMEOUT');
    u.destroy();
    assert.equal(stack.stubs[0]!.requests.length, 0, 'nothing reached a worker');
  });
});
