import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CAPABILITIES,
  extractTable,
  feedFormat,
  historicalRequest,
  isInternalHeader,
  marketDataItems,
  marketDataLines,
  renderRouteTable,
  RouteMatcher,
  ROUTES,
  subscriptionKey,
  workerRoutes,
} from '../src/index.js';
import { DOCUMENTS_WITH_TABLE, repoRoot } from '../src/write-docs.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('shared parsers', () => {
  it('market-data items: symbols / conIds as the worker subscribes them, distinct, or the single contract', () => {
    assert.deepEqual(marketDataItems(q('symbols=AAPL, MSFT,AAPL')), { form: 'symbols', items: ['AAPL', 'MSFT'] });
    assert.deepEqual(marketDataItems(q('conIds=1,2,3&symbol=X')), { form: 'conIds', items: ['1', '2', '3'] });
    assert.deepEqual(marketDataItems(q('symbol=AAPL')), { form: 'single', items: ['AAPL'] });
    assert.deepEqual(marketDataItems({ conId: 265598 }), { form: 'single', items: ['conId=265598'] });
    assert.equal(marketDataLines(q(`conIds=${Array.from({ length: 50 }, (_, i) => i + 1).join(',')}`)), 50);
    assert.equal(marketDataLines(q('')), 1);
    // The worker's parsed query (one string) and the proxy's (repeated parameters) read the same way.
    assert.equal(marketDataLines({ conIds: '1,2' }), marketDataLines(q('conIds=1&conIds=2')));
  });

  it('historical identity: defaults, parameter order, presentation parameters and coerced types do not matter', () => {
    const a = historicalRequest('bars', q('symbol=AAPL&barSizeSetting=30 secs'));
    const b = historicalRequest(
      'bars',
      q('barSizeSetting=30 secs&currency=USD&symbol=AAPL&secType=STK&exchange=SMART&timeout=5&format=json'),
    );
    assert.equal(a.identity, b.identity);
    const coerced = historicalRequest('bars', {
      symbol: 'AAPL',
      secType: 'STK',
      exchange: 'SMART',
      currency: 'USD',
      endDateTime: '',
      durationStr: '1 D',
      barSizeSetting: '30 secs',
      whatToShow: 'TRADES',
      useRTH: true,
    });
    assert.equal(coerced.identity, a.identity, "the worker's coerced query gives the proxy's identity");
    assert.notEqual(
      historicalRequest('bars', q('symbol=AAPL&barSizeSetting=30 secs&useRTH=false')).identity,
      a.identity,
    );
    assert.notEqual(
      historicalRequest('head', q('symbol=AAPL')).identity,
      historicalRequest('bars', q('symbol=AAPL')).identity,
    );
    assert.equal(
      historicalRequest('bars', q('conId=8314&strike=150.0')).identity,
      historicalRequest('bars', { conId: 8314, strike: 150 }).identity,
    );
  });

  it('historical pacing applies where IB applies it: bars of 30 s or less; BID_ASK weighs 2', () => {
    for (const bar of ['1 secs', '5 secs', '15 secs', '30 secs'])
      assert.equal(historicalRequest('bars', q(`barSizeSetting=${bar}`)).paced, true, bar);
    for (const bar of ['1 min', '1 hour', '1 day', '1 week'])
      assert.equal(historicalRequest('bars', q(`barSizeSetting=${bar}`)).paced, false, bar);
    assert.equal(historicalRequest('bars', q('')).paced, false, 'the default bar (1 hour) is not paced');
    assert.equal(historicalRequest('head', q('barSizeSetting=1 secs')).paced, false, 'head timestamps are not paced');
    assert.equal(historicalRequest('bars', q('whatToShow=BID_ASK')).weight, 2);
    assert.equal(historicalRequest('bars', q('whatToShow=TRADES')).weight, 1);
    assert.notEqual(
      historicalRequest('bars', q('symbol=A&whatToShow=BID')).contract,
      historicalRequest('bars', q('symbol=A&whatToShow=ASK')).contract,
    );
  });

  it('subscription key and feed format', () => {
    assert.equal(subscriptionKey('/market/data', q('b=2&a=1&format=sse&timeout=3')), '/market/data?a=1&b=2');
    assert.equal(feedFormat(q('format=atom'), 'text/event-stream'), 'atom');
    assert.equal(feedFormat(q(''), 'application/atom+xml, text/event-stream'), 'atom');
    assert.equal(feedFormat(q(''), undefined), 'json');
    assert.equal(isInternalHeader('X-IBRest-Key'), true);
  });
});

describe('route matcher', () => {
  const m = new RouteMatcher(ROUTES.filter((r) => r.owner === 'worker'));
  it('static segments win over parameters; HEAD is GET; other methods list Allow', () => {
    const ev = m.match('GET', '/order/events');
    assert.ok(ev.kind === 'route' && ev.entry.id === 'listOrderEvents');
    const one = m.match('HEAD', '/order/17');
    assert.ok(one.kind === 'route' && one.entry.id === 'getOrder' && one.params.orderId === '17');
    assert.deepEqual(m.match('PATCH', '/order/17'), { kind: 'method', allow: ['GET', 'HEAD', 'PUT', 'DELETE'] });
    assert.deepEqual(m.match('GET', '/nope'), { kind: 'none' });
    const ex = m.match('GET', '/executions');
    assert.ok(ex.kind === 'route' && ex.entry.target === 'order', 'executions: only the master client sees them all');
  });
});

describe('the manifest', () => {
  it('is consistent: unique ids, known capabilities, sticky identities, stream budgets, writes not retried', () => {
    assert.equal(new Set(ROUTES.map((r) => r.id)).size, ROUTES.length);
    assert.equal(new Set(ROUTES.map((r) => `${r.owner} ${r.method} ${r.path}`)).size, ROUTES.length);
    for (const r of ROUTES) {
      for (const n of r.needs) assert.ok((CAPABILITIES as readonly string[]).includes(n), `${r.id}: ${n}`);
      if (r.sticky === 'request') assert.equal(typeof r.identity, 'function', r.id);
      if (r.target === 'sticky') assert.ok(r.sticky !== undefined, r.id);
      if (r.budget !== undefined) assert.equal(r.sticky, 'subscription', `${r.id}: budgets are held by streams`);
      if (r.method !== 'GET') assert.equal(r.retry, false, `${r.id}: a write is never sent twice`);
      if (r.idempotent === true) assert.equal(r.target, 'order', r.id);
      if (r.target === 'local') assert.deepEqual([r.needs.length, r.maintenance], [0, 'served'], r.id);
    }
    assert.ok(workerRoutes().length > 30);
  });
});

describe('documents', () => {
  it('the generated route tables in the docs are current', () => {
    for (const doc of DOCUMENTS_WITH_TABLE) {
      const table = extractTable(readFileSync(repoRoot + doc, 'utf8'));
      assert.equal(table, renderRouteTable(), `${doc} is stale: npm run docs -w @ibrest/contract`);
    }
  });

  it("the worker README's route table lists exactly the manifest's worker routes", () => {
    const readme = readFileSync(`${repoRoot}packages/worker/README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## Routes'), readme.indexOf('\n## ', readme.indexOf('## Routes') + 5));
    const rows = new Set<string>();
    for (const line of section.split('\n')) {
      const cell = /^\| (`[^|]+`) \|/.exec(line)?.[1];
      if (cell === undefined) continue;
      const [methods, path] = cell.replace(/`/g, '').split(' ');
      for (const method of methods!.split('/')) rows.add(`${method} ${path}`);
    }
    assert.deepEqual(
      [...rows].sort(),
      workerRoutes()
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
  });
});
