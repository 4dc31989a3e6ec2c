import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import { ManualClock } from '../src/engine/clock.js';
import { buildBook, depthVenue, makersFor } from '../src/engine/depth.js';
import { faXmlProblem } from '../src/engine/fa-config.js';
import { article, headlines, parseNewsTime } from '../src/engine/news.js';
import { runScan } from '../src/engine/scanner.js';
import { marketDepthL2, mktDepthExchanges } from '../src/encode/feeds.js';
import { DEPTH_EXCHANGES } from '../src/engine/depth.js';

const clock = new ManualClock(Date.UTC(2026, 0, 5, 15, 0, 0));

describe('depth', () => {
  it('venues: SMART only with isSmartDepth for stocks; unknown or mismatched venues have none', () => {
    const table: Array<[string, string, boolean, string | undefined]> = [
      ['ISLAND', 'STK', false, 'ISLAND'],
      ['island', 'STK', false, 'ISLAND'],
      ['SMART', 'STK', true, 'SMART'],
      ['SMART', 'STK', false, undefined],
      ['SMART', 'OPT', true, undefined],
      ['ISLAND', 'OPT', false, undefined],
      ['CME', 'FUT', false, 'CME'],
      ['NASDAQ', 'STK', false, undefined],
    ];
    for (const [ex, secType, smart, want] of table) {
      const v = depthVenue(ex, secType, smart);
      assert.equal(
        v === undefined ? undefined : v === 'SMART' ? 'SMART' : v.exchange,
        want,
        `${ex}/${secType}/${smart}`,
      );
    }
  });

  it('books are deterministic, one tick apart, and only moved rows change', () => {
    const engine = new Engine({ seed: 3, clock });
    const aapl = engine.catalogue.bySymbol('AAPL')!;
    const q = engine.market.quote(aapl.conId)!;
    const a = buildBook(3, aapl, q, 4, makersFor(depthVenue('ISLAND', 'STK', false)!));
    assert.deepEqual(a, buildBook(3, aapl, q, 4, makersFor(depthVenue('ISLAND', 'STK', false)!)));
    assert.deepEqual(
      a.bids.map((l) => l.price),
      [q.bid, q.bid - 0.01, q.bid - 0.02, q.bid - 0.03].map((p) => Number(p.toFixed(2))),
    );
    assert.ok(a.bids.every((l) => l.size >= 100 && l.size % 100 === 0 && l.marketMaker));
    const moved = buildBook(3, aapl, { ...q, bid: Number((q.bid - 0.01).toFixed(2)) }, 4, makersFor('SMART'));
    assert.equal(moved.bids[0]!.size, a.bids[1]!.size, 'a price level keeps its size');
  });

  it('layouts: MARKET_DEPTH_L2 has isSmartDepth, MKT_DEPTH_EXCHANGES five fields per venue', () => {
    assert.equal(marketDepthL2(164, 1, 0, 'NSDQ', 0, 1, 10, 100, false).length, 10);
    assert.equal(mktDepthExchanges(176, DEPTH_EXCHANGES).length, 2 + 5 * DEPTH_EXCHANGES.length);
  });
});

describe('FA documents', () => {
  it('accepts well-formed documents of the right type and explains the rest', () => {
    const table: Array<[number, string, RegExp | undefined]> = [
      [1, '<?xml version="1.0"?><ListOfGroups><Group><name>A</name></Group></ListOfGroups>', undefined],
      [1, '<ListOfGroups/>', undefined],
      [3, '<ListOfAccountAliases></ListOfAccountAliases>', undefined],
      [1, '<ListOfAccountAliases></ListOfAccountAliases>', /Expected root element <ListOfGroups>/],
      [1, '<ListOfGroups><Group></ListOfGroups>', /Malformed/],
      [1, '<ListOfGroups><Group>', /not closed/],
      [1, '  ', /XML string is required/],
      [7, '<x/>', /Invalid FA data type/],
    ];
    for (const [type, xml, want] of table) {
      const p = faXmlProblem(type, xml);
      if (want) assert.match(p ?? '', want, xml);
      else assert.equal(p, undefined, xml);
    }
  });
});

describe('news', () => {
  const engine = new Engine({ seed: 1, clock });
  const aapl = engine.catalogue.bySymbol('AAPL')!;

  it('headlines are newest first, filtered by provider and window, and stable', () => {
    const now = clock.now();
    const { items, hasMore } = headlines(1, aapl, ['BRFG', 'DJNL'], 0, now, 4);
    assert.equal(items.length, 4);
    assert.equal(hasMore, true);
    assert.ok(items.every((h, i) => i === 0 || h.time < items[i - 1]!.time));
    assert.ok(items.every((h) => h.provider !== 'BRFUPDN' && h.time <= now));
    assert.deepEqual(headlines(1, aapl, ['BRFG', 'DJNL'], 0, now, 4).items, items);
    const window = headlines(1, aapl, ['BRFG', 'BRFUPDN', 'DJNL'], now - 24 * 3600e3, now, 300);
    assert.equal(window.hasMore, false);
    assert.ok(window.items.length >= 3 && window.items.length <= 5);
  });

  it('an article is found from its headline id only', () => {
    const h = headlines(1, aapl, ['BRFG'], 0, clock.now(), 1).items[0]!;
    const lookup = (id: number) => engine.catalogue.byConId(id);
    assert.ok(article(1, lookup, 'BRFG', h.articleId)!.includes(h.headline.replace(/&/g, '&amp;')));
    assert.equal(article(1, lookup, 'DJNL', h.articleId), undefined);
    assert.equal(article(1, lookup, 'BRFG', 'BRFG$zz'), undefined);
  });

  it('parses IB news times', () => {
    assert.equal(parseNewsTime('2026-01-05 12:30:00.0'), Date.UTC(2026, 0, 5, 12, 30));
    assert.equal(parseNewsTime('20260105 12:30:00'), Date.UTC(2026, 0, 5, 12, 30));
    assert.equal(parseNewsTime(''), undefined);
    assert.equal(parseNewsTime('yesterday'), 'invalid');
  });
});

describe('scanner', () => {
  it('ranks by change and filters by location and price', () => {
    const engine = new Engine({ seed: 1, clock });
    engine.market.setPrice(engine.catalogue.bySymbol('TSLA')!.conId, 400);
    engine.market.setPrice(engine.catalogue.bySymbol('IBM')!.conId, 100);
    const gain = runScan(engine.catalogue, engine.market, {
      scanCode: 'TOP_PERC_GAIN',
      locationCode: 'STK.US',
      rows: 50,
    });
    assert.equal(gain[0]!.symbol, 'TSLA');
    assert.equal(gain.at(-1)!.symbol, 'IBM');
    const lose = runScan(engine.catalogue, engine.market, {
      scanCode: 'TOP_PERC_LOSE',
      locationCode: 'STK.US',
      rows: 1,
    });
    assert.deepEqual(
      lose.map((c) => c.symbol),
      ['IBM'],
    );
    const nyse = runScan(engine.catalogue, engine.market, {
      scanCode: 'ALL_SYMBOLS_ASC',
      locationCode: 'STK.NYSE',
      rows: 50,
    });
    assert.deepEqual(
      nyse.map((c) => c.symbol),
      ['IBM'],
    );
    const cheap = runScan(engine.catalogue, engine.market, {
      scanCode: 'ALL_SYMBOLS_ASC',
      locationCode: 'STK.US',
      rows: 50,
      belowPrice: 200,
    });
    assert.ok(cheap.every((c) => engine.market.quote(c.conId)!.last < 200) && cheap.length >= 2);
  });
});
