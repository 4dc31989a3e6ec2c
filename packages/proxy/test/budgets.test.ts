import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { marketDataLines } from '@ibrest/contract';
import { loadConfig, MarketDataBudgets } from '../src/index.js';
import { eventually, metricValue, openStream, request, startStack, type OpenStream, type Stack } from './helpers.js';

describe('market-data budgets – accounting', () => {
  it('lines of a request: the items of symbols / conIds the worker subscribes, distinct, at least 1', () => {
    const q = (s: string): URLSearchParams => new URLSearchParams(s);
    assert.equal(marketDataLines(q('')), 1);
    assert.equal(marketDataLines(q('conId=265598')), 1);
    assert.equal(marketDataLines(q('symbol=AAPL')), 1);
    assert.equal(marketDataLines(q('symbols=AAPL,MSFT,IBM')), 3);
    assert.equal(marketDataLines(q(`conIds=${Array.from({ length: 50 }, (_, i) => i + 1).join(',')}`)), 50);
    assert.equal(marketDataLines(q('symbols=AAPL,AAPL')), 1, 'duplicates hold one line');
  });

  it('MARKET_DATA_LINES, DEPTH_BOOKS and BUDGET_RETRY_AFTER_SECONDS are read and validated', () => {
    assert.deepEqual(loadConfig({}).budgets, { marketDataLines: 100, depthBooks: 3, retryAfterSeconds: 5 });
    assert.deepEqual(
      loadConfig({ MARKET_DATA_LINES: '250', DEPTH_BOOKS: '0', BUDGET_RETRY_AFTER_SECONDS: '2' }).budgets,
      { marketDataLines: 250, depthBooks: 0, retryAfterSeconds: 2 },
    );
    assert.throws(() => loadConfig({ MARKET_DATA_LINES: 'many' }), /Expected MARKET_DATA_LINES/);
    assert.throws(() => loadConfig({ DEPTH_BOOKS: '-1' }), /Expected DEPTH_BOOKS/);
    assert.throws(() => loadConfig({ PASSIVE_5XX_THRESHOLD: 'x' }), /Expected PASSIVE_5XX_THRESHOLD/);
  });

  it('a key holds its lines once for all its streams and releases them with the last one', () => {
    const changes: Array<[string, number]> = [];
    const b = new MarketDataBudgets({ lines: 3, depth: 1 }, (kind, n) => changes.push([kind, n]));
    const a1 = b.admit('k1', 'lines', 2);
    const a2 = b.admit('k1', 'lines', 2);
    assert.ok(a1.ok && a2.ok);
    assert.deepEqual(b.use('lines'), { budget: 3, inUse: 2 });
    const refused = b.admit('k2', 'lines', 2);
    assert.deepEqual(refused, { ok: false, kind: 'lines', needed: 2, budget: 3, inUse: 2 });
    assert.ok(b.admit('k3', 'lines', 1).ok);
    a1.release();
    a1.release();
    assert.equal(b.use('lines').inUse, 3, 'a second release of one stream is a no-op; k1 still has a stream');
    a2.release();
    assert.equal(b.use('lines').inUse, 1);
    assert.equal(b.use('depth').inUse, 0);
    assert.deepEqual(changes, [
      ['lines', 2],
      ['lines', 3],
      ['lines', 1],
    ]);
  });
});

describe('market-data budgets – through the proxy', () => {
  let stack: Stack;
  const open: OpenStream[] = [];
  const stream = async (path: string, accept = 'text/event-stream'): Promise<OpenStream> => {
    const s = await openStream(stack.url + path, { accept });
    open.push(s);
    return s;
  };
  const seenByWorkers = (needle: string): number =>
    stack.stubs.reduce((n, w) => n + w.requests.filter((r) => r.url.includes(needle)).length, 0);

  before(async () => {
    stack = await startStack(3, { budgets: { marketDataLines: 3, depthBooks: 1, retryAfterSeconds: 7 } });
    for (const w of stack.stubs) w.holdFeeds = true;
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await stack.close();
  });

  it('counts lines per subscription key, shared by its callers; over budget, refuses before any worker', async () => {
    const a1 = await stream('/market/data?conId=1&genericTickList=233');
    const a2 = await stream('/market/data?genericTickList=233&conId=1&format=sse');
    assert.equal(a1.status, 200);
    assert.equal(a2.status, 200);
    assert.equal(stack.proxy.budgets.use('lines').inUse, 1, 'two callers of one key hold one line');
    const multi = await stream('/market/data?symbols=AAPL,MSFT');
    assert.equal(multi.status, 200);
    assert.equal(stack.proxy.budgets.use('lines').inUse, 3, 'a two-contract stream holds two lines');

    const refused = await stream('/bars?conId=9');
    await refused.close();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '7');
    const body = JSON.parse(refused.received());
    assert.equal(body.error.code, 'MARKET_DATA_LINES_EXHAUSTED');
    assert.deepEqual(body.error.details, { budget: 3, inUse: 3, needed: 1 });
    assert.equal(seenByWorkers('conId=9'), 0, 'the refused stream reached no worker');
    assert.equal(await metricValue(stack.proxy, 'ibproxy_budget_rejections_total', { kind: 'market_data_lines' }), 1);

    // Non-stream reads of the same paths and unbudgeted feeds are not counted.
    assert.equal((await request(stack.url + '/market/data?conId=5')).status, 200);
    const scanner = await stream('/market/scanners?scanCode=TOP_PERC_GAIN');
    assert.equal(scanner.status, 200);
    assert.equal(stack.proxy.budgets.use('lines').inUse, 3);

    const clients = await request(stack.url + '/clients');
    assert.deepEqual(clients.json.budgets.marketDataLines, { budget: 3, inUse: 3, streams: 3 });
    assert.equal(await metricValue(stack.proxy, 'ibproxy_market_data_lines_in_use'), 3);
    assert.equal(await metricValue(stack.proxy, 'ibproxy_market_data_lines_budget'), 3);

    // The line of key 1 is released only when its last caller leaves.
    await a1.close();
    await eventually(
      () => stack.stubs.every((w) => !w.feedStreams.has('/market/data?conId=1&genericTickList=233')),
      2000,
      'first caller gone at the worker',
    );
    assert.equal(stack.proxy.budgets.use('lines').inUse, 3);
    await a2.close();
    await eventually(() => stack.proxy.budgets.use('lines').inUse === 2, 2000, 'line released');
    const bars = await stream('/bars?conId=9');
    assert.equal(bars.status, 200);
    assert.equal(seenByWorkers('/bars?conId=9'), 1);
    await Promise.all([multi.close(), bars.close(), scanner.close()]);
    await eventually(() => stack.proxy.budgets.use('lines').inUse === 0, 2000, 'all lines released');
    assert.equal(await metricValue(stack.proxy, 'ibproxy_market_data_lines_in_use'), 0);
  });

  it('counts depth books separately and answers MARKET_DEPTH_BOOKS_EXHAUSTED', async () => {
    const d1 = await stream('/market/depth?conId=1&numRows=5');
    assert.equal(d1.status, 200);
    const d2 = await stream('/market/depth?conId=2&numRows=5', 'application/atom+xml');
    await d2.close();
    assert.equal(d2.status, 429);
    const body = JSON.parse(d2.received());
    assert.equal(body.error.code, 'MARKET_DEPTH_BOOKS_EXHAUSTED');
    assert.deepEqual(body.error.details, { budget: 1, inUse: 1, needed: 1 });
    assert.equal(stack.proxy.budgets.use('lines').inUse, 0, 'depth books are not market-data lines');
    assert.equal(await metricValue(stack.proxy, 'ibproxy_budget_rejections_total', { kind: 'depth_books' }), 1);
    assert.equal(await metricValue(stack.proxy, 'ibproxy_depth_books_in_use'), 1);
    await d1.close();
    await eventually(() => stack.proxy.budgets.use('depth').inUse === 0, 2000, 'book released');
  });

  it('a stream refused by the worker gives its line back', async () => {
    stack.stubs.forEach((w) => (w.failWith = { status: 503, retryAfter: 1 }));
    try {
      const r = await stream('/market/data?conId=77');
      await r.close();
      assert.equal(r.status, 503);
    } finally {
      stack.stubs.forEach((w) => (w.failWith = undefined));
    }
    await eventually(() => stack.proxy.budgets.use('lines').inUse === 0, 2000, 'line released after a refusal');
  });
});
