import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { eventually, request, startStack, type Stack } from './helpers.js';

async function counter(stack: Stack, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await stack.proxy.metrics.registries.app.getSingleMetric(name)!.get();
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((n, v) => n + v.value, 0);
}

describe('health and failover', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('least outstanding – held requests spread evenly over the read workers', async () => {
    stack = await startStack(4);
    const s = stack;
    const pending = Array.from({ length: 6 }, () => request(s.url + '/contract?stub=hold'));
    await eventually(() => s.stubs.slice(1).every((w) => w.holding === 2), 3000, 'two held per read worker');
    assert.equal(s.stubs[0]!.holding, 0);
    assert.deepEqual(
      s.proxy.pool.all().map((w) => w.inFlight),
      [0, 2, 2, 2],
    );
    for (const w of s.stubs) w.release();
    const replies = await Promise.all(pending);
    assert.ok(replies.every((r) => r.status === 200));
    await eventually(() => s.proxy.pool.all().every((w) => w.inFlight === 0), 2000, 'in-flight back to 0');
  });

  it('a killed worker: out, no idempotent read fails (connect-refused retry); only the probe returns it', async () => {
    // Slow probes while up: only passive detection can notice the kill in time.
    stack = await startStack(4, { health: { intervalMs: 60_000, downIntervalMs: 50, timeoutMs: 500 } });
    const s = stack;
    // Warm every worker so pooled sockets exist, then kill one.
    await Promise.all(Array.from({ length: 6 }, () => request(s.url + '/contract?symbol=AAPL')));
    const victim = s.stubs[2]!;
    await victim.kill();
    const replies = [];
    for (let i = 0; i < 12; i++) replies.push(await request(s.url + '/contract?symbol=AAPL'));
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(12).fill(200),
    );
    assert.ok(replies.every((r) => r.json.clientId !== 2));
    const w2 = s.proxy.pool.get(2)!;
    assert.equal(w2.up, false);
    assert.ok(w2.lastError !== null);
    assert.ok(
      (await counter(s, 'ibproxy_retries_total', { backend: 'worker2' })) >= 1,
      'the read that hit the dead worker was retried',
    );

    // Back with a socket but not ready: stays out.
    victim.ready = false;
    await victim.restart();
    const seenBefore = victim.requests.length;
    await eventually(() => w2.state === 'disconnected', 2000, 'probe sees not-ready');
    for (let i = 0; i < 6; i++) assert.notEqual((await request(s.url + '/contract')).json.clientId, 2);
    assert.equal(victim.requests.length, seenBefore);
    assert.equal(w2.up, false);
    // Ready again: the probe, and only the probe, puts it back.
    victim.ready = true;
    await eventually(() => w2.up, 2000, 'worker 2 back up');
    const back = await Promise.all(Array.from({ length: 6 }, () => request(s.url + '/contract')));
    assert.ok(back.some((r) => r.json.clientId === 2));
  });

  it('a read whose worker dies while answering it (reset, fresh socket) is answered by another worker', async () => {
    stack = await startStack(3, { health: { intervalMs: 60_000, downIntervalMs: 50, timeoutMs: 500 } });
    const s = stack;
    const sentTo = (prefix: string) => s.stubs.flatMap((w) => w.requests).filter((x) => x.url.startsWith(prefix));
    // A historical request IB paces pool-wide is not repeated after a reset: the first worker may have sent it.
    const bars = await request(`${s.url}/historical?symbol=AAPL&durationStr=1%20D&barSizeSetting=30%20secs&stub=reset`);
    assert.equal(bars.status, 502, JSON.stringify(bars.json));
    assert.equal(sentTo('/historical').length, 1, 'sent to one worker only');
    // `stub=reset` cuts the connection without an answer, as a worker killed mid-request does; a read is
    // repeated once on another worker (which here cuts it too: then 502).
    const read = await request(`${s.url}/contract?symbol=AAPL&stub=reset`);
    assert.equal(read.status, 502, JSON.stringify(read.json));
    assert.equal(sentTo('/contract').length, 2, 'the read reached two workers, no more');
    assert.equal(await counter(s, 'ibproxy_retries_total', {}), 1);
  });

  it('worker 0 down → order operations get 503 ORDER_WORKER_UNAVAILABLE at once while reads work', async () => {
    stack = await startStack(3);
    const s = stack;
    s.stubs[0]!.ready = false;
    await eventually(() => !s.proxy.pool.orderWorker.up, 2000, 'worker 0 down');
    for (const [method, path] of [
      ['POST', '/order'],
      ['GET', '/order'],
      ['DELETE', '/order/5'],
    ] as const) {
      const t0 = performance.now();
      const r = await request(s.url + path, { method, body: method === 'POST' ? '{}' : undefined });
      assert.ok(performance.now() - t0 < 500, 'answered immediately');
      assert.equal(r.status, 503);
      assert.equal(r.json.error.code, 'ORDER_WORKER_UNAVAILABLE');
      assert.match(String(r.headers['retry-after']), /^\d+$/);
    }
    const read = await request(s.url + '/account/summary');
    assert.equal(read.status, 200);
    assert.equal((await request(s.url + '/health/ready')).status, 503);
    assert.ok(s.stubs.every((w) => w.requests.every((q) => !q.url.startsWith('/order'))));
  });

  it('POST /order is never retried, even when worker 0 refuses the connection', async () => {
    stack = await startStack(3, { health: { intervalMs: 60_000, downIntervalMs: 60_000, timeoutMs: 500 } });
    const s = stack;
    await s.stubs[0]!.kill();
    const r = await request(s.url + '/order', { method: 'POST', body: '{"order":{}}' });
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'ORDER_WORKER_UNAVAILABLE');
    assert.equal(await counter(s, 'ibproxy_retries_total', {}), 0);
    assert.ok(
      s.stubs.slice(1).every((w) => w.requests.length === 0),
      'no other worker saw the order',
    );
    assert.equal(s.proxy.pool.orderWorker.up, false, 'passive detection took worker 0 out');
  });

  it('a reset retries an idempotent read once on another worker, never a write', async () => {
    stack = await startStack(4);
    const s = stack;
    await Promise.all(Array.from({ length: 6 }, () => request(s.url + '/contract/search?pattern=warm')));
    const get = await request(s.url + '/contract?stub=reset');
    assert.equal(get.status, 502);
    assert.equal(get.json.error.code, 'UPSTREAM_ERROR');
    const saw = (url: string, method: string): number =>
      s.stubs.filter((w) => w.requests.some((q) => q.url === url && q.method === method)).length;
    const sawGet = saw('/contract?stub=reset', 'GET');
    assert.equal(sawGet, 2, 'first attempt plus exactly one retry');
    // A write the manifest marks `retry: false` (it may have reached IB) is never sent twice.
    const post = await request(s.url + '/financial?stub=reset', { method: 'PUT', body: '{}' });
    assert.equal(post.status, 502);
    assert.equal(saw('/financial?stub=reset', 'PUT'), 1);
    assert.ok(
      s.proxy.pool.all().every((w) => w.up),
      'a reset does not take a worker out',
    );
  });

  it('sticky feeds – every caller of one subscription lands on the same worker', async () => {
    stack = await startStack(5);
    const s = stack;
    const sse = { accept: 'text/event-stream' };
    const a = await request(s.url + '/market/data?conId=265598&genericTicks=233&format=sse', { headers: sse });
    const served = a.json.clientId as number;
    for (const path of [
      '/market/data?genericTicks=233&conId=265598',
      '/market/data?conId=265598&genericTicks=233&format=atom',
    ]) {
      const r = await request(s.url + path, { headers: path.includes('atom') ? {} : sse });
      assert.equal(r.json.clientId, served);
    }
  });
});
