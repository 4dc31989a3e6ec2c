import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually, request, startStack, type Stack } from './helpers.js';
import { configWithDefaults } from '../src/index.js';

/** Opens a request through the proxy and hands back the live objects, for tests that abort mid-way. */
function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, (res) => resolve({ req, res }));
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

async function inFlightGauge(stack: Stack): Promise<number> {
  const g = await stack.proxy.metrics.registries.app.getSingleMetric('ibproxy_requests_in_flight')!.get();
  return g.values.reduce((n, v) => n + v.value, 0);
}

describe('forwarder', () => {
  let stack: Stack;
  before(async () => {
    // Worker 0 plus one read worker: every read lands on stub 1, so its sockets can be counted.
    stack = await startStack(2);
  });
  after(() => stack.close());

  it('strips hop-by-hop headers: a client sending Connection: close still gets upstream keep-alive reuse', async () => {
    const stub = stack.stubs[1]!;
    const before = stub.connections;
    const start = stub.requests.length;
    for (let i = 0; i < 20; i++) {
      const r = await request(stack.url + '/account/positions', {
        headers: {
          connection: 'close, x-hop',
          'x-hop': 'secret',
          'keep-alive': 'timeout=1',
          te: 'trailers',
          'proxy-connection': 'keep-alive',
        },
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.connection, 'close', 'the client hop still honours the client');
    }
    const seen = stub.requests.slice(start);
    assert.equal(seen.length, 20);
    // Every request rode one upstream connection (active probes open their own, so connections are not counted).
    const used = stub.connections - before;
    assert.equal(new Set(seen.map((q) => q.socketId)).size, 1, `upstream used ${used} connections`);
    for (const q of seen) {
      assert.notEqual(q.headers.connection, 'close');
      for (const h of ['x-hop', 'keep-alive', 'te', 'proxy-connection', 'trailer'])
        assert.equal(q.headers[h], undefined, h);
      assert.equal(q.headers['x-forwarded-for'], '127.0.0.1');
    }
  });

  it("does not pass the worker's keep-alive hint to the client", async () => {
    const r = await request(stack.url + '/account/positions');
    assert.equal(r.headers['keep-alive'], undefined);
  });

  it('a client abort cancels a slow upstream request (the worker sees the close); in-flight returns to 0', async () => {
    const stub = stack.stubs[1]!;
    const closedBefore = stub.closedEarly;
    const req = http.get(stack.url + '/contract?stub=slow&ms=10000', { agent: false });
    req.on('error', () => undefined);
    const arrived = (): boolean => stub.requests.some((q) => q.url === '/contract?stub=slow&ms=10000');
    await eventually(arrived, 2000, 'worker got the slow request');
    assert.equal(stack.proxy.pool.get(1)!.inFlight, 1);
    req.destroy();
    await eventually(() => stub.closedEarly === closedBefore + 1, 2000, 'worker saw the close');
    await eventually(() => stack.proxy.pool.get(1)!.inFlight === 0, 2000, 'pool in-flight 0');
    assert.equal(await inFlightGauge(stack), 0);
  });

  it('streams arrive unbuffered: the first event comes long before the stream ends', async () => {
    const t0 = performance.now();
    const sse = { accept: 'text/event-stream' };
    const { res } = await open(stack.url + '/contract?stub=stream&events=3&interval=400', sse);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const first = await new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
    const firstAt = performance.now() - t0;
    assert.match(first, /^id: 0\ndata: \{"clientId":1,"n":0\}/);
    let rest = '';
    res.on('data', (c: Buffer) => (rest += c.toString('utf8')));
    await new Promise((resolve) => res.on('end', resolve));
    const endAt = performance.now() - t0;
    assert.ok(firstAt < 350, `first event after ${firstAt.toFixed(0)} ms`);
    assert.ok(endAt - firstAt > 600, `stream ended ${(endAt - firstAt).toFixed(0)} ms after the first event`);
    assert.match(rest, /id: 2/);
  });

  it('a client that leaves a stream cancels the upstream stream', async () => {
    const stub = stack.stubs[1]!;
    const closedBefore = stub.closedEarly;
    const sse = { accept: 'text/event-stream' };
    const { req, res } = await open(stack.url + '/contract?stub=stream&events=100000&interval=10', sse);
    await new Promise((resolve) => res.once('data', resolve));
    assert.equal(stub.openStreams, 1);
    req.destroy();
    await eventually(
      () => stub.openStreams === 0 && stub.closedEarly === closedBefore + 1,
      2000,
      'upstream stream closed',
    );
    await eventually(() => stack.proxy.pool.get(1)!.inFlight === 0, 2000, 'pool in-flight 0');
    assert.equal(await inFlightGauge(stack), 0);
  });

  it('answers a too-large body with 413 without contacting a worker', async () => {
    const client = { ...configWithDefaults({ workers: [] }).client, maxBodyBytes: 16 };
    const small = await startStack(2, { client });
    try {
      const r = await request(small.url + '/order', {
        method: 'POST',
        body: JSON.stringify({ much: 'x'.repeat(100) }),
      });
      assert.equal(r.status, 413);
      assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(small.stubs[0]!.requests.length, 0);
    } finally {
      await small.close();
    }
  });

  it('answers 504 UPSTREAM_TIMEOUT when a worker stays silent, and 503 when nothing is up', async () => {
    const upstream = { timeoutMs: 150, connectTimeoutMs: 1000, maxSockets: 8, orderSockets: 8, streamSockets: 8 };
    const slow = await startStack(2, { upstream: { ...upstream, queueTimeoutMs: 5000, freeSocketTimeoutMs: 4000 } });
    try {
      const r = await request(slow.url + '/contract?stub=slow&ms=3000');
      assert.equal(r.status, 504);
      assert.equal(r.json.error.code, 'UPSTREAM_TIMEOUT');
      await eventually(() => slow.stubs[1]!.closedEarly === 1, 2000, 'worker saw the cancel');
      for (const s of slow.stubs) s.ready = false;
      await eventually(() => slow.proxy.pool.all().every((w) => !w.up), 2000, 'all down');
      const none = await request(slow.url + '/account/positions');
      assert.equal(none.status, 503);
      assert.equal(none.json.error.code, 'NO_HEALTHY_WORKER');
      assert.equal(none.headers['retry-after'], '1');
    } finally {
      await slow.close();
    }
  });
});
