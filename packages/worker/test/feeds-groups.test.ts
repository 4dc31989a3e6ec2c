import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, http, startStack, type Stack } from './helpers.js';
import { parseAtom, SseClient } from './sse-client.js';

describe('feeds – every feed group in JSON, SSE and Atom against the simulator', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ FEED_HEARTBEAT_MS: '500', IB_MARKET_DEPTH_BOOKS: '1' }, { faAccount: true });
  });
  after(() => s.close());

  /** GETs an Atom document and checks it is an Atom feed; returns the parsed entries' JSON content. */
  const atom = async (path: string, viaQuery = false) => {
    const res = await fetch(
      `${s.url}${path}${viaQuery ? `${path.includes('?') ? '&' : '?'}format=atom` : ''}`,
      viaQuery ? {} : { headers: { accept: 'application/atom+xml' } },
    );
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/atom\+xml/);
    return parseAtom(text).entries.map((e) => ({ id: e.id, data: JSON.parse(e.content) }));
  };
  const sse = async (path: string, until: (c: SseClient) => boolean, what: string) => {
    const c = new SseClient(`${s.url}${path}`);
    await c.opened;
    assert.equal(c.status, 200);
    await eventually(() => until(c), 5000, what);
    c.close();
    return c;
  };

  it('/market/data: SSE ticks, Atom entries (Accept and ?format=atom), JSON snapshot by default', async () => {
    await sse('/market/data?symbol=AAPL', (c) => c.named('tick').length > 3, 'ticks');
    const entries = await atom('/market/data?symbol=AAPL');
    assert.ok(entries.length > 3 && entries.every((e) => e.id.startsWith('tag:ibrest,2024:')));
    assert.ok(entries.some((e) => e.data.field === 'BID'));
    assert.ok((await atom('/market/data?symbol=AAPL', true)).length > 0);
    const snap = await http(`${s.url}/market/data?symbol=AAPL`);
    assert.equal(snap.status, 200, JSON.stringify(snap.body));
    assert.equal(typeof snap.body.ticks.BID, 'number');
    const delayed = await http(`${s.url}/market/data?symbol=MSFT&marketDataType=delayed`);
    assert.equal(delayed.status, 200, JSON.stringify(delayed.body));
    assert.ok(
      Object.keys(delayed.body.ticks).some((k) => k.startsWith('DELAYED_')),
      JSON.stringify(delayed.body.ticks),
    );
  });

  it('/market/depth: one-shot book, SSE book events, Atom; a 2nd book over IB_MARKET_DEPTH_BOOKS → 429', async () => {
    const book = await http(`${s.url}/market/depth?symbol=AAPL&numRows=5`);
    assert.equal(book.status, 200, JSON.stringify(book.body));
    assert.ok(book.body.bids.length > 0 && book.body.asks.length > 0);
    assert.ok(book.body.bids[0].price < book.body.asks[0].price);
    const c = new SseClient(`${s.url}/market/depth?symbol=AAPL&numRows=5`);
    await eventually(() => c.named('book').length > 0, 5000, 'book event');
    assert.equal(s.sim.control.activeDepthBooks(), 1);
    const over = await http(`${s.url}/market/depth?symbol=MSFT&format=sse`);
    assert.equal(over.status, 429, JSON.stringify(over.body));
    assert.equal(over.body.error.code, 'MARKET_DEPTH_BOOKS_EXHAUSTED');
    assert.equal(over.body.error.details.budget, 1);
    c.close();
    await eventually(() => s.sim.control.activeDepthBooks() === 0, 3000, 'depth cancelled');
    const entries = await atom('/market/depth?symbol=AAPL&numRows=5');
    assert.ok(entries.length > 0 && Array.isArray(entries[0]!.data.bids));
    assert.equal((await http(`${s.url}/market/depth/exchanges`)).status, 200);
  });

  it('/bars: SSE bar events, JSON next bar, Atom', async () => {
    const c = new SseClient(`${s.url}/bars?symbol=AAPL`);
    await c.opened;
    await eventually(
      () => {
        s.sim.control.emitRealTimeBars();
        return c.named('bar').length > 0;
      },
      5000,
      'bar event',
    );
    const bar = c.named('bar')[0]!.data;
    assert.ok(['time', 'open', 'high', 'low', 'close', 'volume'].every((k) => k in bar));
    const next = http(`${s.url}/bars?symbol=AAPL`);
    const timer = setInterval(() => s.sim.control.emitRealTimeBars(), 50);
    const one = await next;
    clearInterval(timer);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(typeof one.body.bar.close, 'number');
    // The stream still holds the subscription, so Atom sees the bars already received.
    const entries = await atom('/bars?symbol=AAPL');
    assert.ok(entries.some((e) => typeof e.data.close === 'number'));
    c.close();
  });

  it('/news: bulletins as SSE, JSON and Atom; /news/providers', async () => {
    const c = new SseClient(`${s.url}/news`);
    await c.opened;
    await eventually(
      () =>
        s.worker.feeds.topicKeys().includes('news|bulletins') &&
        s.sim.control.activeSubscriptions().newsBulletins === 1,
      3000,
      'subscribed',
    );
    s.sim.control.pushNewsBulletin({ message: 'Trading halt <XYZ> & "quotes"' });
    await eventually(() => c.named('bulletin').length > 0, 5000, 'bulletin event');
    assert.match(c.named('bulletin')[0]!.data.message, /Trading halt <XYZ> & "quotes"/);
    const json = await http(`${s.url}/news`);
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.ok(json.body.bulletins.some((b: { message: string }) => b.message.includes('Trading halt')));
    // Markup in a bulletin is escaped in the Atom document.
    const entries = await atom('/news');
    assert.ok(entries.some((e) => e.data.message === 'Trading halt <XYZ> & "quotes"'));
    c.close();
    const providers = await http(`${s.url}/news/providers`);
    assert.equal(providers.status, 200, JSON.stringify(providers.body));
    assert.ok(providers.body.providers.length > 0);
  });

  it('/market/scanners: one run, live SSE, Atom; parameters XML', async () => {
    const run = await http(`${s.url}/market/scanners?scanCode=TOP_PERC_GAIN&numberOfRows=5`);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.ok(run.body.rows.length > 0 && run.body.rows.length <= 5);
    const c = await sse('/market/scanners?scanCode=MOST_ACTIVE', (x) => x.named('scan').length > 0, 'scan event');
    assert.ok(c.named('scan')[0]!.data.rows.length > 0);
    const entries = await atom('/market/scanners?scanCode=MOST_ACTIVE');
    assert.ok(entries.some((e) => Array.isArray(e.data.rows)));
    const params = await http(`${s.url}/market/scanners/parameters`);
    assert.equal(params.status, 200);
    assert.match(params.body.xml, /ScanParameterResponse/);
    const bad = await http(`${s.url}/market/scanners?scanCode=NOPE`);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
  });

  it('/fundamental: report XML in JSON, SSE and Atom', async () => {
    const r = await http(`${s.url}/fundamental?symbol=AAPL&reportType=ReportSnapshot`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.xml, /^<\?xml/);
    const c = await sse(
      '/fundamental?symbol=AAPL&reportType=ReportsFinSummary',
      (x) => x.named('report').length > 0,
      'report event',
    );
    assert.match(c.named('report')[0]!.data.xml, /<\?xml/);
    const entries = await atom('/fundamental?symbol=AAPL&reportType=ReportSnapshot');
    assert.match(entries[0]!.data.xml, /<\?xml/);
  });

  it('/displaygroups: query, SSE group events, PUT update, Atom', async () => {
    const list = await http(`${s.url}/displaygroups`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.ok(list.body.groups.includes(1));
    const c = new SseClient(`${s.url}/displaygroups?groupId=1`);
    await eventually(() => c.named('group').length > 0, 5000, 'initial group event');
    const put = await http(`${s.url}/displaygroups/1`, { method: 'PUT', json: { contractInfo: '265598@SMART' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.contractInfo, '265598@SMART');
    await eventually(
      () => c.named('group').some((e) => e.data.contractInfo === '265598@SMART'),
      5000,
      'update seen by the stream',
    );
    const entries = await atom('/displaygroups?groupId=1');
    assert.equal(entries[0]!.data.contractInfo, '265598@SMART');
    c.close();
  });

  it('/financial: FA groups as JSON, SSE and Atom; PUT replaces them', async () => {
    const fa = await http(`${s.url}/financial?type=groups`);
    assert.equal(fa.status, 200, JSON.stringify(fa.body));
    assert.match(fa.body.xml, /<ListOfGroups/);
    const c = await sse('/financial?type=groups', (x) => x.named('fa').length > 0, 'fa event');
    assert.match(c.named('fa')[0]!.data.xml, /<ListOfGroups/);
    const entries = await atom('/financial?type=aliases');
    assert.ok(entries[0]!.data.xml.length > 0);
    const put = await http(`${s.url}/financial?type=groups`, { method: 'PUT', json: { xml: fa.body.xml } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });

  it('OpenAPI lists the feed routes with text/event-stream and application/atom+xml', async () => {
    const doc = (await http(`${s.url}/openapi.json`)).body;
    for (const p of [
      '/market/data',
      '/market/depth',
      '/bars',
      '/news',
      '/market/scanners',
      '/fundamental',
      '/displaygroups',
      '/financial',
    ]) {
      const content = doc.paths[p].get.responses['200'].content;
      assert.ok('text/event-stream' in content && 'application/atom+xml' in content, p);
    }
    assert.ok(doc.paths['/financial'].put && doc.paths['/displaygroups/{groupId}'].put);
  });
});
