import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, filter, take } from 'rxjs';
import ib from '@stoqey/ib';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import {
  AAPL,
  ALL_VERSIONS,
  connectApi,
  decoderErrors,
  EventName,
  IBApiNext,
  MSFT,
  nextEvent,
  strictBoundaries,
  waitUntil,
  type IBApiT,
  type SeenError,
} from './helpers.js';

const { ScanCode } = ib;
const ISLAND_AAPL = { ...AAPL, exchange: 'ISLAND' };
const ARCA_MSFT = { ...MSFT, exchange: 'ARCA' };

/** Collects every event of one name whose first argument (reqId) matches. */
function collect(api: IBApiT, event: string, reqId: number): any[][] {
  const out: any[][] = [];
  api.on(event, (...a: any[]) => {
    if (a[0] === reqId) out.push(a);
  });
  return out;
}

/**
 * Every feed message through IBApi: depth (L1, L2, SMART), exchanges, real-time bars, news, scanners, fundamentals,
 * display groups, FA.
 */
async function runFeedFlows(
  gw: RunningGatewaySim,
  api: IBApiT,
  errors: SeenError[],
  serverVersion: number,
): Promise<void> {
  const [accounts] = await Promise.all([
    nextEvent(api, EventName.managedAccounts),
    Promise.resolve(api.reqManagedAccts()),
  ]).then(([a]) => a);
  assert.equal(accounts, 'DF1234567,DU1234567,DU1234568');

  // depth venues
  const ex = nextEvent(api, EventName.mktDepthExchanges);
  api.reqMktDepthExchanges();
  const [venues] = await ex;
  assert.ok(
    venues.some(
      (v: { exchange: string; serviceDataType: string; listingExch: string }) =>
        v.exchange === 'ISLAND' && v.serviceDataType === 'Deep2' && v.listingExch === 'NASDAQ',
    ),
  );

  // L2 book (ISLAND): 5 inserts per side, then row updates after a price move, then cancel frees the book
  const l2 = collect(api, EventName.updateMktDepthL2, 20);
  api.reqMktDepth(20, ISLAND_AAPL, 5, false, []);
  await waitUntil(() => l2.length >= 10, 2000, 'L2 book');
  const bids = l2.filter((e) => e[4] === 1).map((e) => e[5]);
  const asks = l2.filter((e) => e[4] === 0).map((e) => e[5]);
  assert.equal(bids.length, 5);
  assert.ok(
    bids.every((p: number, i: number) => i === 0 || p < bids[i - 1]),
    'bids descend',
  );
  assert.ok(asks[0] > bids[0], 'ask above bid');
  assert.ok(
    l2.every((e) => e[3] === 0 && typeof e[2] === 'string' && e[2].length > 0 && e[7] === false),
    'inserts with market maker',
  );
  gw.control.setPrice('AAPL', 201);
  await waitUntil(() => l2.some((e) => e[3] === 1), 2000, 'depth update');
  assert.equal(gw.control.activeDepthBooks(), 1);

  // level-1 book (ARCA) and SMART depth
  const l1 = collect(api, EventName.updateMktDepth, 21);
  api.reqMktDepth(21, ARCA_MSFT, 3, false, []);
  await waitUntil(() => l1.length >= 6, 2000, 'L1 book');
  const smart = collect(api, EventName.updateMktDepthL2, 22);
  api.reqMktDepth(22, AAPL, 3, true, []);
  await waitUntil(() => smart.length >= 6, 2000, 'smart depth');
  assert.ok(
    smart.every((e) => e[7] === true),
    'isSmartDepth',
  );
  api.cancelMktDepth(20, false);
  api.cancelMktDepth(21, false);
  api.cancelMktDepth(22, true);
  await waitUntil(() => gw.control.activeDepthBooks() === 0, 2000, 'books released');

  // real-time bars: a TRADES bar with volume, a MIDPOINT bar with −1 volume; each takes a line
  const lines = gw.control.activeMarketDataLines();
  const trades = collect(api, EventName.realtimeBar, 30);
  const mids = collect(api, EventName.realtimeBar, 31);
  api.reqRealTimeBars(30, AAPL, 5, 'TRADES', false);
  api.reqRealTimeBars(31, MSFT, 5, 'MIDPOINT', false);
  await waitUntil(() => gw.control.activeSubscriptions().realTimeBars === 2, 2000, 'bar subscriptions');
  assert.equal(gw.control.activeMarketDataLines(), lines + 2);
  gw.control.setPrice('AAPL', 202);
  gw.control.setPrice('AAPL', 203);
  gw.control.emitRealTimeBars();
  await waitUntil(() => trades.length >= 1 && mids.length >= 1, 2000, 'real-time bars');
  const [, time, open, high, low, close, volume, , count] = trades[0]!;
  assert.equal(time % 5, 0);
  assert.ok(high >= Math.max(open, close) && low <= Math.min(open, close));
  assert.equal(close, 203);
  assert.ok(volume > 0 && count >= 2);
  assert.equal(mids[0]![6], -1);
  gw.control.emitRealTimeBars();
  await waitUntil(() => trades.length >= 2, 2000, 'second bar');
  assert.equal(trades[1]![1], time + 5);
  api.cancelRealTimeBars(30);
  api.cancelRealTimeBars(31);
  await waitUntil(() => gw.control.activeMarketDataLines() === lines, 2000, 'bar lines released');

  // news: providers, bulletins (the day's so far, then live), headlines, article
  const prov = nextEvent(api, EventName.newsProviders);
  api.reqNewsProviders();
  assert.deepEqual(
    (await prov)[0].map((p: { providerCode: string }) => p.providerCode),
    ['BRFG', 'BRFUPDN', 'DJNL'],
  );
  gw.control.pushNewsBulletin({ message: 'Exchange halted', type: 2, exchange: 'NYSE' });
  const bulletins: any[][] = [];
  api.on(EventName.updateNewsBulletin, (...a: any[]) => bulletins.push(a));
  api.reqNewsBulletins(true);
  await waitUntil(() => bulletins.length === 1, 2000, 'earlier bulletin');
  assert.deepEqual(bulletins[0]!.slice(1), [2, 'Exchange halted', 'NYSE']);
  await waitUntil(() => gw.control.activeSubscriptions().newsBulletins === 1, 2000, 'bulletin subscription');
  gw.control.pushNewsBulletin({ message: 'Trading resumed', type: 3, exchange: 'NYSE' });
  await waitUntil(() => bulletins.length === 2, 2000, 'live bulletin');
  api.cancelNewsBulletins();
  const news = collect(api, EventName.historicalNews, 40);
  const newsEnd = nextEvent(api, EventName.historicalNewsEnd, (r: number) => r === 40);
  api.reqHistoricalNews(40, 265598, 'BRFG+DJNL', '', '', 5);
  const [, hasMore] = await newsEnd;
  assert.equal(news.length, 5);
  assert.equal(hasMore, true);
  assert.match(news[0]![1], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.0$/);
  assert.ok(news.every((n) => n[2] === 'BRFG' || n[2] === 'DJNL'));
  const art = nextEvent(api, EventName.newsArticle, (r: number) => r === 41);
  api.reqNewsArticle(41, news[0]![2], news[0]![3]);
  const [, articleType, text] = await art;
  assert.equal(articleType, 0);
  assert.ok(text.includes(news[0]![4]));

  // scanners: parameters XML, a live subscription with a refresh, cancel
  const params = nextEvent(api, EventName.scannerParameters);
  api.reqScannerParameters();
  assert.match((await params)[0], /<ScanParameterResponse>.*<scanCode>MOST_ACTIVE<\/scanCode>/s);
  const rows = collect(api, EventName.scannerData, 50);
  let ends = 0;
  api.on(EventName.scannerDataEnd, (r: number) => {
    if (r === 50) ends++;
  });
  api.reqScannerSubscription(50, {
    numberOfRows: 3,
    instrument: 'STK',
    locationCode: 'STK.US.MAJOR',
    scanCode: ScanCode.MOST_ACTIVE,
  } as never);
  await waitUntil(() => ends === 1, 2000, 'scanner data');
  assert.deepEqual(
    rows.map((r) => r[1]),
    [0, 1, 2],
  );
  assert.ok(rows.every((r) => r[2].contract.conId > 0 && r[2].contract.secType === 'STK' && r[2].marketName));
  gw.control.refreshScanners();
  await waitUntil(() => ends === 2, 2000, 'scanner refresh');
  api.cancelScannerSubscription(50);
  await waitUntil(() => gw.control.activeSubscriptions().scanners === 0, 2000, 'scanner cancelled');

  // fundamentals: an XML report; an ETF gets 430
  const fund = nextEvent(api, EventName.fundamentalData, (r: number) => r === 60);
  api.reqFundamentalData(60, AAPL, 'ReportSnapshot');
  assert.match(
    (await fund)[1],
    /^<\?xml[^>]*\?><ReportSnapshot .*<IssueID Type="Ticker">AAPL<\/IssueID>.*<\/ReportSnapshot>$/s,
  );
  const e430 = nextEvent(
    api,
    EventName.error,
    (_e: Error, code: number, reqId: number) => code === 430 && reqId === 61,
  );
  api.reqFundamentalData(
    61,
    { symbol: 'SPY', secType: 'STK', exchange: 'SMART', currency: 'USD' },
    'ReportsFinSummary',
  );
  await e430;

  // display groups: list, subscribe (current contract), update from the client and from TWS
  const list = nextEvent(api, EventName.displayGroupList, (r: number) => r === 70);
  api.queryDisplayGroups(70);
  assert.equal((await list)[1], '1|2|3|4|5|6|7');
  const group = collect(api, EventName.displayGroupUpdated, 71);
  api.subscribeToGroupEvents(71, 2);
  await waitUntil(() => group.length === 1, 2000, 'group subscription');
  assert.equal(group[0]![1], 'none');
  api.updateDisplayGroup(71, '265598@SMART');
  await waitUntil(() => group.length === 2, 2000, 'group update');
  assert.equal(group[1]![1], '265598@SMART');
  gw.control.setDisplayGroup(2, '8314@SMART');
  await waitUntil(() => group.length === 3, 2000, 'group update from TWS');
  assert.equal(group[2]![1], '8314@SMART');
  api.unsubscribeFromGroupEvents(71);

  // FA configuration: groups, aliases (and profiles before FA_PROFILE_DESUPPORT), replace → REPLACE_FA_END
  const fa: any[][] = [];
  api.on(EventName.receiveFA, (...a: any[]) => fa.push(a));
  api.requestFA(1);
  api.requestFA(3);
  if (serverVersion < 177) api.requestFA(2);
  await waitUntil(() => fa.length === (serverVersion < 177 ? 3 : 2), 2000, 'FA documents');
  assert.match(fa[0]![1], /<ListOfGroups>.*<acct>DU1234568<\/acct>/s);
  assert.match(fa[1]![1], /<ListOfAccountAliases>/);
  if (serverVersion < 177) assert.match(fa[2]![1], /<ListOfAllocationProfiles>/);
  const groupsXml =
    '<?xml version="1.0" encoding="UTF-8"?><ListOfGroups><Group><name>Pair</name><defaultMethod>Equal</defaultMethod>' +
    '<ListOfAccts varName="list"><Account><acct>DU1234567</acct><amount>0.0</amount></Account></ListOfAccts>' +
    '</Group></ListOfGroups>';
  const replaced = nextEvent(api, EventName.replaceFAEnd, (r: number) => r === 80);
  api.replaceFA(80, 1, groupsXml);
  await replaced;
  api.requestFA(1);
  await waitUntil(() => fa.some((f) => f[1] === groupsXml), 2000, 'replaced groups');

  assert.deepEqual(decoderErrors(errors), []);
  assert.deepEqual(gw.control.violations().byCode, {});
}

for (const serverVersion of ALL_VERSIONS) {
  describe(`feeds conformance – server version ${serverVersion}`, () => {
    let gw: RunningGatewaySim;
    before(async () => {
      gw = await startGatewaySim({ serverVersion, tickIntervalMs: 0, faAccount: true, scannerRefreshMs: 0 });
    });
    after(async () => {
      await gw.close();
    });

    it('IBApi: every feed message with zero 505 errors', async () => {
      const { api, errors } = await connectApi(gw.port, 3);
      try {
        await runFeedFlows(gw, api, errors, serverVersion);
      } finally {
        api.disconnect();
      }
    });

    it('IBApiNext: depth, depth exchanges, real-time bars, scanners, fundamentals with zero 505 errors', async () => {
      const next = new IBApiNext({ host: '127.0.0.1', port: gw.port, maxReqPerSec: 1000 });
      const codes: number[] = [];
      const sub = next.error.subscribe((e: { code: number }) => codes.push(e.code));
      const layout: SeenError[] = [];
      strictBoundaries((next as unknown as { api: IBApiT }).api, layout);
      next.connect(4);
      try {
        const venues = await next.getMarketDepthExchanges();
        assert.ok(venues.length >= 5);
        const book = await firstValueFrom(
          next.getMarketDepth(ISLAND_AAPL, 5, false).pipe(
            filter((b) => b.all.bids.size === 5 && b.all.asks.size === 5),
            take(1),
          ),
        );
        assert.ok([...book.all.bids.values()][0]!.price! < [...book.all.asks.values()][0]!.price!);
        const barSeen = firstValueFrom(next.getRealTimeBars(MSFT, 'TRADES' as never, false).pipe(take(1)));
        await gw.control.waitFor(() => gw.control.activeSubscriptions().realTimeBars === 1, 2000, 'bar subscription');
        gw.control.emitRealTimeBars();
        const bar = await barSeen;
        assert.ok(bar.close! > 0 && Number(bar.time) % 5 === 0);
        const xml = await next.getScannerParameters();
        assert.match(xml, /ScanParameterResponse/);
        const scan = await firstValueFrom(
          next
            .getMarketScanner({
              numberOfRows: 2,
              instrument: 'STK',
              locationCode: 'STK.NASDAQ',
              scanCode: ScanCode.TOP_PERC_GAIN,
            } as never)
            .pipe(take(1)),
        );
        assert.equal(scan.all.size, 2);
        const report = await next.getFundamentalData(MSFT, 'ReportsFinSummary');
        assert.match(report!, /<FinancialSummary>/);
        assert.deepEqual(
          codes.filter((c) => c === 505),
          [],
        );
        assert.deepEqual(layout, []);
        assert.deepEqual(gw.control.violations().byCode, {});
      } finally {
        sub.unsubscribe();
        next.disconnect();
      }
    });
  });
}
