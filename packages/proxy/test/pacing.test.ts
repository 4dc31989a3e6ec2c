import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HistoricalPacer, historicalRequestOf, type HistoricalRequest } from '../src/pacing/historical.js';
import { request, startStack } from './helpers.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const q = (s: string): HistoricalRequest => historicalRequestOf('/historical', new URLSearchParams(s));

describe('historical pacing – IB rules across the pool', () => {
  it('identical requests: the second within 15 s is refused with the exact wait', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    assert.equal(p.reserve(q('symbol=AAPL&durationStr=1 D&barSizeSetting=1 min'), 0).ok, true);
    c.advance(4000);
    // Parameter order and the timeout parameter do not make a request different.
    const again = p.reserve(q('barSizeSetting=1 min&symbol=AAPL&durationStr=1 D&timeout=30'), 0);
    assert.equal(again.ok, false);
    if (!again.ok) {
      assert.equal(again.kind, 'historical_identical');
      assert.equal(again.retryAfterMs, 11_000);
    }
    c.advance(11_000);
    assert.equal(p.reserve(q('symbol=AAPL&durationStr=1 D&barSizeSetting=1 min'), 0).ok, true);
  });

  it('one contract/exchange/whatToShow: the sixth within 2 s waits for the first to leave the window', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    for (let i = 0; i < 5; i++) {
      assert.equal(p.reserve(q(`symbol=AAPL&durationStr=${i + 1} D`), 0).ok, true);
      c.advance(100);
    }
    const sixth = p.reserve(q('symbol=AAPL&durationStr=9 D'), 0);
    assert.equal(sixth.ok, false);
    if (!sixth.ok) assert.deepEqual([sixth.kind, sixth.retryAfterMs], ['historical_contract', 1500]);
    // Another tick type of the same contract is a different bucket.
    assert.equal(p.reserve(q('symbol=AAPL&durationStr=9 D&whatToShow=MIDPOINT'), 0).ok, true);
    // Within the wait budget the request is granted a later slot instead of a refusal.
    const waited = p.reserve(q('symbol=AAPL&durationStr=10 D'), 2000);
    assert.ok(waited.ok && waited.delayMs === 1500);
  });

  it('BID_ASK counts double', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    assert.ok(p.reserve(q('symbol=MSFT&whatToShow=BID_ASK&durationStr=1 D'), 0).ok);
    assert.ok(p.reserve(q('symbol=MSFT&whatToShow=BID_ASK&durationStr=2 D'), 0).ok);
    const third = p.reserve(q('symbol=MSFT&whatToShow=BID_ASK&durationStr=3 D'), 0);
    assert.equal(third.ok, false, '2 + 2 + 2 > 5 within 2 s');
  });

  it('at most 60 in ten minutes; the 61st is told when the oldest leaves', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    for (let i = 0; i < 60; i++) {
      assert.ok(p.reserve(q(`conId=${i}`), 0).ok, `request ${i}`);
      c.advance(1000);
    }
    const r = p.reserve(q('conId=999'), 0);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.kind, 'historical_10min');
      assert.equal(r.retryAfterMs, 600_000 - 60_000);
    }
  });

  it('a cancelled future slot is given back', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    for (let i = 0; i < 5; i++) p.reserve(q(`symbol=IBM&durationStr=${i} D`), 0);
    const waiting = p.reserve(q('symbol=IBM&durationStr=7 D'), 5000);
    assert.ok(waiting.ok && waiting.delayMs === 2000);
    if (waiting.ok) waiting.cancel();
    const next = p.reserve(q('symbol=IBM&durationStr=8 D'), 5000);
    assert.ok(next.ok && next.delayMs === 2000, 'the next caller gets the freed slot, not one after it');
  });

  it('through the proxy: 429 HISTORICAL_PACING with Retry-After, counted, never forwarded', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 0 } });
    try {
      const path = '/historical?symbol=AAPL&secType=STK&durationStr=1%20D&barSizeSetting=1%20hour';
      assert.equal((await request(stack.url + path)).status, 200);
      const r = await request(stack.url + path);
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'HISTORICAL_PACING');
      // 15 s window plus the 50 ms safety margin, rounded up to whole seconds.
      assert.ok([15, 16].includes(Number(r.headers['retry-after'])), String(r.headers['retry-after']));
      assert.equal(stack.stubs[1]!.requests.filter((x) => x.url.startsWith('/historical')).length, 1);
      const m = await stack.proxy.metrics.registries.app.getSingleMetric('ibproxy_pacing_rejections_total')!.get();
      assert.equal(m.values.find((v) => v.labels.kind === 'historical_identical')?.value, 1);
    } finally {
      await stack.close();
    }
  });

  it('a request the worker refused without asking IB (400, 503) gives its slot back', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 0 } });
    try {
      const path = '/historical?symbol=AAPL&secType=STK&durationStr=1%20D&barSizeSetting=1%20hour';
      for (const w of stack.stubs) w.failWith = { status: 400 };
      assert.equal((await request(stack.url + path)).status, 400);
      for (const w of stack.stubs) w.failWith = { status: 503, retryAfter: 1 };
      assert.equal((await request(stack.url + path)).status, 503);
      for (const w of stack.stubs) w.failWith = undefined;
      // The identical request is served at once: neither refusal held a slot.
      assert.equal((await request(stack.url + path)).status, 200);
      assert.equal((await request(stack.url + path)).status, 429, 'the served one does hold its slot');
    } finally {
      await stack.close();
    }
  });
});
