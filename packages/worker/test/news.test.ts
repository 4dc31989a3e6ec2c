import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http, startStack, type Stack } from './helpers.js';
import { parseAtom } from './sse-client.js';

const AAPL_CONID = 265598;
const NEWS_MESSAGES = ['REQ_HISTORICAL_NEWS', 'REQ_NEWS_ARTICLE', 'REQ_CONTRACT_DATA'];

describe('news – headlines (reqHistoricalNews) and articles (reqNewsArticle) against the simulator', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  const sent = (name: string) => s.sim.control.received({ name }).length;
  const newsTraffic = () => NEWS_MESSAGES.reduce((n, name) => n + sent(name), 0);

  it('GET /news/headlines by symbol: resolves the conId, newest first, only the asked providers, hasMore', async () => {
    const r = await http(`${s.url}/news/headlines?symbol=AAPL&providerCodes=BRFG%2BDJNL`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.conId, AAPL_CONID);
    assert.equal(r.body.headlines.length, 10);
    assert.equal(r.body.hasMore, true);
    for (const h of r.body.headlines) {
      assert.ok(['BRFG', 'DJNL'].includes(h.providerCode), h.providerCode);
      assert.match(h.time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.0$/);
      assert.ok(h.articleId.startsWith(`${h.providerCode}$`) && h.headline.length > 0);
    }
    const times = r.body.headlines.map((h: { time: string }) => h.time);
    assert.deepEqual(times, [...times].sort().reverse());
    const req = s.sim.control.received({ name: 'REQ_HISTORICAL_NEWS' }).at(-1)!;
    assert.equal(req.fields[1], String(AAPL_CONID));
    assert.equal(req.fields[2], 'BRFG+DJNL');
  });

  it('GET /news/headlines by conId: totalResults, a closed date range answers hasMore false', async () => {
    const three = await http(`${s.url}/news/headlines?conId=${AAPL_CONID}&providerCodes=BRFUPDN,BRFG&totalResults=3`);
    assert.equal(three.status, 200, JSON.stringify(three.body));
    assert.equal(three.body.headlines.length, 3);
    assert.equal(three.body.hasMore, true);
    // Two days before the newest headline hold at most 8 headlines: all of them fit in 300.
    const newest = three.body.headlines[0].time as string;
    const start = new Date(Date.parse(`${newest.slice(0, 19).replace(' ', 'T')}Z`) - 2 * 86_400_000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    const range = await http(
      `${s.url}/news/headlines?conId=${AAPL_CONID}&providerCodes=BRFUPDN+BRFG&totalResults=300` +
        `&startDateTime=${encodeURIComponent(start)}&endDateTime=${encodeURIComponent(newest)}`,
    );
    assert.equal(range.status, 200, JSON.stringify(range.body));
    assert.equal(range.body.hasMore, false);
    assert.ok(range.body.headlines.length >= 1 && range.body.headlines.length <= 8, JSON.stringify(range.body));
    assert.equal(range.body.headlines[0].articleId, three.body.headlines[0].articleId);
  });

  it('?format=atom and Accept: application/atom+xml: one entry per headline, id providerCode:articleId', async () => {
    const json = await http(`${s.url}/news/headlines?symbol=MSFT&providerCodes=BRFG%2BDJNL&totalResults=5`);
    assert.equal(json.status, 200, JSON.stringify(json.body));
    const ids = json.body.headlines.map(
      (h: { providerCode: string; articleId: string }) => `${h.providerCode}:${h.articleId}`,
    );
    const forms: Array<{ query: string; headers: Record<string, string> }> = [
      { query: '&format=atom', headers: {} },
      { query: '', headers: { accept: 'application/atom+xml' } },
    ];
    for (const init of forms) {
      const res = await fetch(
        `${s.url}/news/headlines?symbol=MSFT&providerCodes=BRFG%2BDJNL&totalResults=5${init.query}`,
        { headers: init.headers },
      );
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/atom\+xml/);
      const feed = parseAtom(text);
      assert.deepEqual(
        feed.entries.map((e) => e.id),
        ids,
      );
      assert.equal(JSON.parse(feed.entries[0]!.content).headline, json.body.headlines[0].headline);
      assert.match(text, /<updated>\d{4}-\d{2}-\d{2}T/);
    }
  });

  it('identical headline requests in flight share one REQ_HISTORICAL_NEWS', async () => {
    const before = sent('REQ_HISTORICAL_NEWS');
    s.sim.control.delayReplies(300);
    try {
      const url = `${s.url}/news/headlines?conId=${AAPL_CONID}&providerCodes=DJNL&totalResults=4`;
      const [a, b] = await Promise.all([http(url), http(url)]);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(b.body, a.body);
    } finally {
      s.sim.control.delayReplies(0);
    }
    assert.equal(sent('REQ_HISTORICAL_NEWS') - before, 1);
  });

  it('GET /news/article: the article behind a headline', async () => {
    const h = (await http(`${s.url}/news/headlines?symbol=AAPL&providerCodes=BRFG&totalResults=1`)).body.headlines[0];
    const r = await http(
      `${s.url}/news/article?providerCode=${h.providerCode}&articleId=${encodeURIComponent(h.articleId)}`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.articleType, 0);
    assert.match(r.body.articleText, /^<html>/);
    assert.ok(r.body.articleText.includes('AAPL'));
  });

  it('unknown article → 404 NEWS_ARTICLE_NOT_FOUND; unknown conId / symbol → 404 CONTRACT_NOT_FOUND', async () => {
    const art = await http(
      `${s.url}/news/article?providerCode=BRFG&articleId=${encodeURIComponent('BRFG$ffff000001')}`,
    );
    assert.equal(art.status, 404, JSON.stringify(art.body));
    assert.equal(art.body.error.code, 'NEWS_ARTICLE_NOT_FOUND');
    assert.equal(art.body.error.ibCode, 321);
    assert.deepEqual(art.body.error.details, { providerCode: 'BRFG', articleId: 'BRFG$ffff000001' });
    const con = await http(`${s.url}/news/headlines?conId=999999&providerCodes=BRFG`);
    assert.equal(con.status, 404, JSON.stringify(con.body));
    assert.equal(con.body.error.code, 'CONTRACT_NOT_FOUND');
    const sym = await http(`${s.url}/news/headlines?symbol=NOPE&providerCodes=BRFG`);
    assert.equal(sym.status, 404, JSON.stringify(sym.body));
    assert.equal(sym.body.error.code, 'CONTRACT_NOT_FOUND');
  });

  it('bad parameters → 400 INVALID_REQUEST with nothing sent to IB', async () => {
    const before = newsTraffic();
    const bad: Array<[string, string]> = [
      ['/news/headlines?symbol=AAPL', 'query.providerCodes'],
      ['/news/headlines?providerCodes=BRFG', 'query.conId'],
      ['/news/headlines?symbol=AAPL&providerCodes=BR%21FG', 'query.providerCodes'],
      ['/news/headlines?symbol=AAPL&providerCodes=BRFG&totalResults=0', 'query.totalResults'],
      ['/news/headlines?symbol=AAPL&providerCodes=BRFG&totalResults=301', 'query.totalResults'],
      ['/news/headlines?symbol=AAPL&providerCodes=BRFG&startDateTime=yesterday', 'query.startDateTime'],
      [
        '/news/headlines?symbol=AAPL&providerCodes=BRFG' +
          '&startDateTime=2024-03-02%2010:00:00&endDateTime=2024-03-01%2010:00:00',
        'query.startDateTime',
      ],
      ['/news/headlines?symbol=AAPL&providerCodes=BRFG&format=sse', 'query.format'],
      ['/news/headlines?conId=abc&providerCodes=BRFG', 'query.conId'],
      ['/news/headlines?symbol=AAPL&providerCodes=BRFG&color=red', 'query.color'],
      ['/news/article?providerCode=BRFG', 'query.articleId'],
      ['/news/article?articleId=BRFG%24abc', 'query.providerCode'],
      ['/news/article?providerCode=BR%20FG&articleId=x', 'query.providerCode'],
      ['/news/article?providerCode=BRFG&articleId=a%20b', 'query.articleId'],
    ];
    for (const [path, field] of bad) {
      const r = await http(`${s.url}${path}`);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'INVALID_REQUEST', path);
      assert.ok(
        r.body.error.details.fields.some((f: { field: string }) => f.field === field),
        `${path}: ${JSON.stringify(r.body.error.details)}`,
      );
    }
    assert.equal(newsTraffic(), before);
  });

  it('a deadline passing → 504 DEADLINE_EXCEEDED (IB has no cancel for news requests)', async () => {
    s.sim.control.delayReplies(1000);
    try {
      const r = await http(
        `${s.url}/news/article?providerCode=BRFG&articleId=${encodeURIComponent('BRFG$ffff000002')}&timeout=0.15`,
      );
      assert.equal(r.status, 504, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'DEADLINE_EXCEEDED');
      assert.equal(r.body.error.details.operation, 'news_article');
      assert.equal(r.body.error.details.sent, true);
    } finally {
      s.sim.control.delayReplies(0);
    }
  });

  it('OpenAPI documents both routes (Atom for headlines, NEWS_ARTICLE_NOT_FOUND for articles)', async () => {
    const doc = (await http(`${s.url}/openapi.json`)).body;
    const headlines = doc.paths['/news/headlines'].get;
    assert.ok('application/atom+xml' in headlines.responses['200'].content);
    assert.ok(
      headlines.parameters.some((p: { name: string; required?: boolean }) => p.name === 'providerCodes' && p.required),
    );
    assert.match(JSON.stringify(doc.paths['/news/article'].get.responses['404']), /NEWS_ARTICLE_NOT_FOUND/);
  });
});
