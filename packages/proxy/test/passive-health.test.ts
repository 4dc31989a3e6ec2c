import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { BurstDetector, classifyAnswer } from '../src/index.js';
import { eventually, metricValue, request, startStack, type Stack } from './helpers.js';

describe('passive health – burst rule', () => {
  it('classifies answers: only 500 is bad; 4xx and 429 are good; 502, 503, 504 neutral', () => {
    assert.equal(classifyAnswer(200, {}), 'good');
    assert.equal(classifyAnswer(404, {}), 'good');
    assert.equal(classifyAnswer(422, {}), 'good');
    assert.equal(classifyAnswer(429, { 'retry-after': '1' }), 'good');
    assert.equal(classifyAnswer(500, {}), 'bad');
    assert.equal(classifyAnswer(502, {}), 'neutral');
    assert.equal(classifyAnswer(503, {}), 'neutral');
    assert.equal(classifyAnswer(503, { 'retry-after': '2' }), 'neutral');
    assert.equal(classifyAnswer(504, {}), 'neutral');
  });

  it('needs N bad answers in a row within the window; good answers break the run, neutral ones do not', () => {
    let now = 0;
    const d = new BurstDetector({ threshold: 3, windowMs: 1000, clock: () => now });
    assert.equal(d.record(1, 'bad'), false);
    assert.equal(d.record(1, 'neutral'), false);
    assert.equal(d.record(1, 'bad'), false);
    assert.equal(d.record(2, 'bad'), false, 'runs are per worker');
    assert.equal(d.record(1, 'bad'), true);
    assert.equal(d.record(1, 'bad'), false, 'a run starts over after it fired');
    d.record(1, 'bad');
    d.record(1, 'good');
    assert.equal(d.record(1, 'bad'), false);
    now = 5000;
    d.record(1, 'bad');
    assert.equal(d.record(1, 'bad'), false, 'the first bad answer fell out of the window');
    assert.equal(d.record(1, 'bad'), true);
    assert.equal(
      new BurstDetector({ threshold: 0, windowMs: 1000, clock: () => 0 }).record(1, 'bad'),
      false,
      '0 turns it off',
    );
  });
});

describe('passive health – through the proxy', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });
  let now = 1_000_000;
  // Probes far apart: what happens here is passive detection alone.
  const start = (): Promise<Stack> =>
    startStack(
      2,
      {
        health: { intervalMs: 60_000, downIntervalMs: 60_000, timeoutMs: 500 },
        passiveHealth: { burstThreshold: 5, burstWindowMs: 10_000 },
      },
      { clock: () => now },
    );
  const get = async (s: Stack, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await request(s.url + '/contract?symbol=AAPL')).status);
    return out;
  };

  it('five 500 in a row take the worker out; traffic moves on and the worker waits for the probe', async () => {
    stack = await start();
    const s = stack;
    const w1 = s.proxy.pool.get(1)!;
    s.stubs[1]!.failWith = { status: 500 };
    assert.deepEqual(await get(s, 4), [500, 500, 500, 500], 'the worker answers are passed on');
    assert.equal(w1.up, true);
    assert.deepEqual(await get(s, 1), [500]);
    assert.equal(w1.up, false);
    assert.match(w1.lastError!.reason, /^5xx_burst:status_500$/);
    assert.equal(
      await metricValue(s.proxy, 'ibproxy_passive_health_down_total', { backend: 'worker1', reason: '5xx_burst' }),
      1,
    );
    assert.equal(await metricValue(s.proxy, 'ibproxy_backend_up', { backend: 'worker1' }), 0);
    const served = await request(s.url + '/contract?symbol=AAPL');
    assert.equal(served.status, 200);
    assert.equal(served.json.clientId, 0, 'reads fall back to worker 0');
    const seen = s.stubs[1]!.requests.length;
    await get(s, 3);
    assert.equal(s.stubs[1]!.requests.length, seen, 'nothing more reaches the failing worker');
  });

  it('IB refusals and IB trouble (4xx, 429, 502, 503) never take a worker out; 500s do', async () => {
    stack = await start();
    const s = stack;
    const w1 = s.proxy.pool.get(1)!;
    s.stubs[1]!.failWith = { status: 503, retryAfter: 3 };
    const replies = await Promise.all(Array.from({ length: 12 }, () => request(s.url + '/contract')));
    assert.ok(
      replies.every(
        (r) => r.status === 503 && r.headers['retry-after'] === '3' && r.json.error.code === 'IB_NOT_READY',
      ),
    );
    for (const status of [400, 403, 404, 422, 429, 502, 503]) {
      s.stubs[1]!.failWith = { status };
      await get(s, 6);
      assert.equal(w1.up, true, `six ${status} leave the worker in rotation`);
    }
    s.stubs[1]!.failWith = { status: 500 };
    await get(s, 5);
    assert.equal(w1.up, false);
  });

  it('a good answer breaks the run, and bad answers must fall within the window', async () => {
    stack = await start();
    const s = stack;
    const w1 = s.proxy.pool.get(1)!;
    const stub = s.stubs[1]!;
    stub.failWith = { status: 500 };
    await get(s, 4);
    stub.failWith = undefined;
    assert.deepEqual(await get(s, 1), [200]);
    stub.failWith = { status: 500 };
    await get(s, 4);
    assert.equal(w1.up, true);
    now += 11_000;
    await get(s, 4);
    assert.equal(w1.up, true, 'the earlier four are older than the window');
    await get(s, 1);
    assert.equal(w1.up, false);
  });

  it('recovery comes only from the active probe', async () => {
    stack = await startStack(2, {
      health: { intervalMs: 60_000, downIntervalMs: 50, timeoutMs: 500 },
      passiveHealth: { burstThreshold: 2, burstWindowMs: 10_000 },
    });
    const s = stack;
    const w1 = s.proxy.pool.get(1)!;
    s.stubs[1]!.ready = false;
    s.stubs[1]!.failWith = { status: 500 };
    await get(s, 2);
    assert.equal(w1.up, false);
    s.stubs[1]!.failWith = undefined;
    await eventually(() => w1.state === 'disconnected', 2000, 'probe ran');
    assert.equal(w1.up, false, 'a not-ready probe keeps it out');
    s.stubs[1]!.ready = true;
    await eventually(() => w1.up, 2000, 'probe put it back');
  });
});
