import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historicalRequest } from '@ibrest/contract';
import { HistoricalPacer, OpenHistoricalRequests, type HistoricalRequest } from '../src/pacing/historical.js';
import { eventually, request, startStack } from './helpers.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const q = (s: string): HistoricalRequest => historicalRequest('bars', new URLSearchParams(s));

describe('historical pacing – IB rules across the pool', () => {
  it("identical requests within 15 s share the first one's slot (and the worker's answer): nothing booked", () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    const first = p.reserve(q('symbol=AAPL&durationStr=1 D&barSizeSetting=30 secs'), 0);
    assert.ok(first.ok && !first.shared);
    c.advance(4000);
    // Parameter order and the timeout parameter do not make a request different.
    const again = p.reserve(q('barSizeSetting=30 secs&symbol=AAPL&durationStr=1 D&timeout=30'), 0);
    assert.ok(again.ok && again.shared && again.delayMs === 0);
    // Shared requests count against nothing: four more for the contract still fit the 2 s rule.
    for (let i = 2; i <= 5; i++) assert.ok(p.reserve(q(`symbol=AAPL&durationStr=${i} D&barSizeSetting=30 secs`), 0).ok);
    c.advance(11_000);
    const later = p.reserve(q('symbol=AAPL&durationStr=1 D&barSizeSetting=30 secs'), 0);
    assert.ok(later.ok && !later.shared, 'after 15 s the request is a new one');
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

  it('the 2 s window counts from the answers: a slow answer holds its place until it is back', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    const five = Array.from({ length: 5 }, (_, i) => p.reserve(q(`symbol=IBM&durationStr=${i + 1} D`), 0));
    for (const r of five) assert.ok(r.ok && r.go() === 0, 'sent at once');
    // IB takes 1.5 s to answer: until the answers are back the five count as arriving now.
    c.advance(1500);
    const sixth = p.reserve(q('symbol=IBM&durationStr=9 D'), 5000);
    assert.ok(sixth.ok && sixth.delayMs === 2000, 'estimated from now, the five are still in flight');
    c.advance(2000);
    assert.equal(sixth.go(), 25, 'still in flight: ask again soon');
    for (const r of five) if (r.ok) r.finish();
    assert.equal(sixth.go(), 2000, 'answered now: the window closes 2 s from the answers');
    c.advance(1999);
    assert.equal(sixth.go(), 1);
    c.advance(1);
    assert.equal(sixth.go(), 0);
    assert.equal(sixth.go(), 0, 'asking again once sent changes nothing');
  });

  it('a caller that left counts 2 s beyond its leaving: the worker may still be sending its request', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    for (let i = 0; i < 5; i++) {
      const r = p.reserve(q(`symbol=IBM&durationStr=${i + 1} D`), 0);
      assert.ok(r.ok && r.go() === 0);
      r.finish(true);
    }
    const sixth = p.reserve(q('symbol=IBM&durationStr=9 D'), 5000);
    assert.ok(sixth.ok && sixth.delayMs === 4000);
    c.advance(3999);
    assert.equal(sixth.go(), 1);
    c.advance(1);
    assert.equal(sixth.go(), 0);
  });

  it('a reservation counts the ones reserved before it, even while they still wait their turn', () => {
    const c = clock();
    const p = new HistoricalPacer(c.now, 0);
    const four = Array.from({ length: 4 }, (_, i) => p.reserve(q(`symbol=IBM&durationStr=${i + 1} D`), 0));
    for (const r of four) assert.ok(r.ok && r.go() === 0);
    const ahead = p.reserve(q('symbol=IBM&durationStr=5 D'), 0);
    const behind = p.reserve(q('symbol=IBM&durationStr=6 D'), 5000);
    assert.ok(ahead.ok && behind.ok && behind.delayMs === 2000);
    c.advance(2000);
    for (const r of four) if (r.ok) r.finish();
    assert.equal(behind.go(), 2000, 'four answered just now and one ahead not yet sent: five in the window');
    assert.equal(ahead.go(), 0, 'the one ahead goes: four plus itself');
  });

  it('through the proxy, slow answers: the sixth leaves 2 s after the five answered, not after they left', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 10_000 } });
    try {
      const path = (d: number, ms: number): string =>
        `/historical?symbol=IBM&durationStr=${d}%20D&barSizeSetting=30%20secs&stub=slow&ms=${ms}`;
      const five = Array.from({ length: 5 }, (_, i) => request(stack.url + path(i + 1, 1200)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const sixth = await request(stack.url + path(6, 0));
      assert.deepEqual(
        (await Promise.all(five)).map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      assert.equal(sixth.status, 200);
      // Measured at the worker, on one clock: when it answered the five, when the sixth reached it.
      const seen = stack.stubs.flatMap((w) => w.requests).filter((x) => x.url.startsWith('/historical'));
      const lastAnswer = Math.max(...seen.filter((x) => x.url.includes('ms=1200')).map((x) => x.answeredAt!));
      const sixthAt = seen.find((x) => x.url.includes('ms=0'))!.receivedAt;
      assert.ok(
        sixthAt - lastAnswer >= 2000,
        `the sixth reached the worker ${sixthAt - lastAnswer} ms after the last answer (want ≥ 2000)`,
      );
    } finally {
      await stack.close();
    }
  });

  it('open historical requests: FIFO places, a wait that runs out or a caller that leaves gets none', async () => {
    const open = new OpenHistoricalRequests(2);
    const never = new AbortController().signal;
    const a = (await open.acquire(0, never))!;
    const b = (await open.acquire(0, never))!;
    assert.equal(open.inUse, 2);
    assert.equal(await open.acquire(0, never), undefined, 'no wait budget: refused at once');
    assert.equal(await open.acquire(30, never), undefined, 'no place within 30 ms');
    const left = new AbortController();
    const leaving = open.acquire(10_000, left.signal);
    const first = open.acquire(10_000, never);
    const second = open.acquire(10_000, never);
    left.abort();
    assert.equal(await leaving, undefined);
    a();
    a();
    const got = await first;
    assert.ok(got !== undefined, 'the first waiter takes the freed place (releasing twice frees one)');
    assert.equal(open.inUse, 2);
    b();
    assert.ok((await second) !== undefined);
    assert.equal(open.inUse, 2);
  });

  it('through the proxy: 50 historical requests open pool-wide; the 51st waits for a place, else 429', async () => {
    // 3 s: room for the held answers to come back while the last request waits, even on a loaded machine.
    const stack = await startStack(3, { historicalPacing: { enabled: true, maxWaitMs: 3000 } });
    try {
      const holding = () => stack.stubs.reduce((n, w) => n + w.holding, 0);
      const ticks = (i: number) => `${stack.url}/historical/ticks?symbol=AAPL&numberOfTicks=${i}&stub=hold`;
      const held = Array.from({ length: 50 }, (_, i) => request(ticks(i + 1)));
      await eventually(() => holding() === 50, 5000, '50 requests held at the workers');
      const forwarded = () => stack.stubs.flatMap((w) => w.requests).filter((x) => x.url.includes('head-timestamp'));
      const refused = await request(`${stack.url}/historical/head-timestamp?symbol=MSFT`);
      assert.equal(refused.status, 429, JSON.stringify(refused.json));
      assert.equal(refused.json.error.code, 'HISTORICAL_PACING');
      assert.deepEqual([refused.json.error.details.rule, refused.json.error.details.limit], ['historical_open', 50]);
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(forwarded().length, 0, 'the refused request never reached a worker');
      const clients = await request(`${stack.url}/clients`);
      assert.deepEqual(clients.json.budgets.historicalOpen, { used: 50, limit: 50 });
      // Bars of any size take a place too; this one waits and is forwarded once the held ones are answered.
      const waiting = request(`${stack.url}/historical?symbol=IBM&durationStr=1%20D&barSizeSetting=1%20day`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const w of stack.stubs) w.release();
      assert.equal((await waiting).status, 200);
      assert.deepEqual(
        (await Promise.all(held)).map((r) => r.status),
        held.map(() => 200),
      );
      await eventually(
        async () => (await request(`${stack.url}/clients`)).json.budgets.historicalOpen.used === 0,
        5000,
        'every place given back',
      );
    } finally {
      await stack.close();
    }
  });

  it('through the proxy, 30-s bars: identical requests pinned to one worker, the 6th for a contract 429', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 0 } });
    try {
      const path = (d: number): string => `/historical?symbol=AAPL&durationStr=${d}%20D&barSizeSetting=30%20secs`;
      const a = await request(stack.url + path(1));
      const b = await request(stack.url + path(1));
      assert.deepEqual([a.status, b.status], [200, 200]);
      const why = 'identical requests reach the worker holding the answer';
      assert.equal(a.headers['x-ib-client-id'], b.headers['x-ib-client-id'], why);
      for (let d = 2; d <= 5; d++) assert.equal((await request(stack.url + path(d))).status, 200);
      const r = await request(stack.url + path(6));
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'HISTORICAL_PACING');
      assert.ok([2, 3].includes(Number(r.headers['retry-after'])), String(r.headers['retry-after']));
      const forwarded = stack.stubs.flatMap((w) => w.requests).filter((x) => x.url.startsWith('/historical'));
      assert.equal(forwarded.length, 6, 'the refused one never reached a worker');
      const m = await stack.proxy.metrics.registries.app.getSingleMetric('ibproxy_pacing_rejections_total')!.get();
      assert.equal(m.values.find((v) => v.labels.kind === 'historical_contract')?.value, 1);
    } finally {
      await stack.close();
    }
  });

  it('bars above 30 s and head timestamps are not paced by the proxy (IB lifts its limits for them)', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 0 } });
    try {
      for (let i = 0; i < 80; i++) {
        const days = (i % 8) + 1;
        const r = await request(`${stack.url}/historical?symbol=AAPL&durationStr=${days}%20D&barSizeSetting=1%20day`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
      }
      assert.equal((await request(`${stack.url}/historical/head-timestamp?symbol=AAPL`)).status, 200);
    } finally {
      await stack.close();
    }
  });

  it('a request the worker refused without asking IB (400, 503) gives its slot back', async () => {
    const stack = await startStack(2, { historicalPacing: { enabled: true, maxWaitMs: 0 } });
    try {
      const path = (d: number): string => `/historical?symbol=AAPL&durationStr=${d}%20D&barSizeSetting=5%20secs`;
      for (const w of stack.stubs) w.failWith = { status: 400 };
      assert.equal((await request(stack.url + path(1))).status, 400);
      for (const w of stack.stubs) w.failWith = { status: 503, retryAfter: 1 };
      assert.equal((await request(stack.url + path(2))).status, 503);
      for (const w of stack.stubs) w.failWith = undefined;
      // Five more for the contract fit the 2 s rule: neither refusal held a slot.
      for (let d = 3; d <= 7; d++) assert.equal((await request(stack.url + path(d))).status, 200);
      assert.equal((await request(stack.url + path(8))).status, 429, 'the served ones do hold their slots');
    } finally {
      await stack.close();
    }
  });
});
