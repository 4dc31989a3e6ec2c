import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import ib from '@stoqey/ib';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import { AAPL, connectApi, decoderErrors, EventName, MSFT, nextEvent, waitUntil, type IBApiT } from './helpers.js';

const { ScanCode } = ib;
const ISLAND = (c: object): object => ({ ...c, exchange: 'ISLAND' });
const errorFor = (api: IBApiT, code: number, reqId: number): Promise<any[]> =>
  nextEvent(api, EventName.error, (_e: Error, c: number, r: number) => c === code && r === reqId);

describe('feed limits and faults', () => {
  let gw: RunningGatewaySim;
  before(async () => {
    gw = await startGatewaySim({ tickIntervalMs: 0, marketDataLines: 2, scannerRefreshMs: 0, controlPort: 0 });
  });
  after(async () => {
    await gw.close();
  });
  beforeEach(() => gw.control.resetViolations());

  it('depth books – three per account across clients, the 4th gets 309; a disconnect frees its books', async () => {
    const a = await connectApi(gw.port, 31);
    const b = await connectApi(gw.port, 32);
    try {
      a.api.reqMktDepth(1, ISLAND(AAPL), 3, false, []);
      a.api.reqMktDepth(2, ISLAND(MSFT), 3, false, []);
      b.api.reqMktDepth(1, { ...AAPL, exchange: 'ARCA' }, 3, false, []);
      await waitUntil(() => gw.control.activeDepthBooks() === 3, 2000, 'three books');
      const e309 = errorFor(b.api, 309, 2);
      b.api.reqMktDepth(2, ISLAND(AAPL), 3, false, []);
      assert.equal((await e309)[0].message, 'Max number (3) of market depth requests has been reached');
      assert.equal(gw.control.violations().byCode['309'], 1);
      a.api.disconnect();
      await waitUntil(() => gw.control.activeDepthBooks() === 1, 2000, 'books of the closed client freed');
      const rows = nextEvent(b.api, EventName.updateMktDepthL2, (r: number) => r === 3);
      b.api.reqMktDepth(3, ISLAND(AAPL), 3, false, []);
      await rows;
      // SMART without isSmartDepth, and options, have no book: 10092, not a limit violation.
      const e10092 = errorFor(b.api, 10092, 4);
      b.api.reqMktDepth(4, AAPL, 3, false, []);
      await e10092;
      assert.equal(gw.control.violations().total, 1);
      assert.deepEqual(decoderErrors([...a.errors, ...b.errors]), []);
    } finally {
      a.api.disconnect();
      b.api.disconnect();
    }
  });

  it('real-time bars take market-data lines: the line after the last gets 101', async () => {
    const { api, errors } = await connectApi(gw.port, 33);
    try {
      api.reqMktData(1, AAPL, '', false, false);
      api.reqRealTimeBars(2, MSFT, 5, 'TRADES', false);
      await waitUntil(() => gw.control.activeMarketDataLines() === 2, 2000, 'two lines');
      const e101 = errorFor(api, 101, 3);
      api.reqRealTimeBars(3, AAPL, 5, 'BID', false);
      await e101;
      assert.equal(gw.control.violations().byCode['101'], 1);
      const e321 = errorFor(api, 321, 4);
      api.cancelMktData(1);
      api.reqRealTimeBars(4, AAPL, 10, 'TRADES', false);
      await e321;
      api.cancelRealTimeBars(2);
      await waitUntil(() => gw.control.activeMarketDataLines() === 0, 2000, 'lines freed');
      assert.deepEqual(decoderErrors(errors), []);
    } finally {
      api.disconnect();
    }
  });

  it('1101 drops depth/bars/scanners/bulletins, not display groups; dropSubscriptions: one kind silently', async () => {
    const { api, errors, infos } = await connectApi(gw.port, 34);
    try {
      api.reqMktDepth(1, ISLAND(AAPL), 3, false, []);
      api.reqRealTimeBars(2, MSFT, 5, 'TRADES', false);
      api.reqScannerSubscription(3, {
        numberOfRows: 2,
        instrument: 'STK',
        locationCode: 'STK.US',
        scanCode: ScanCode.TOP_PERC_LOSE,
      } as never);
      api.reqNewsBulletins(false);
      api.subscribeToGroupEvents(5, 1);
      const want = { depth: 1, realTimeBars: 1, scanners: 1, newsBulletins: 1, displayGroups: 1 };
      const active = (): Record<string, number> => gw.control.activeSubscriptions();
      await waitUntil(() => Object.entries(want).every(([k, v]) => active()[k] === v), 2000, 'subscriptions');

      // One kind, silently: the book is gone, nothing else is.
      const dropped = gw.control.dropSubscriptions('depth');
      assert.equal(dropped.depth, 1);
      assert.equal(dropped.realTimeBars, 0);
      assert.equal(gw.control.activeDepthBooks(), 0);
      let rowsAfter = 0;
      api.on(EventName.updateMktDepthL2, () => {
        rowsAfter++;
      });
      gw.control.setPrice('AAPL', 222);

      gw.control.sendNotice(1101);
      await waitUntil(() => infos.some((i) => i.code === 1101), 2000, '1101');
      const after = active();
      assert.deepEqual(
        [after.depth, after.realTimeBars, after.scanners, after.newsBulletins, after.displayGroups],
        [0, 0, 0, 0, 1],
      );
      assert.equal(gw.control.activeMarketDataLines(), 0);
      let bars = 0;
      api.on(EventName.realtimeBar, () => {
        bars++;
      });
      gw.control.emitRealTimeBars();
      const marker = nextEvent(api, EventName.currentTime);
      api.reqCurrentTime();
      await marker;
      assert.equal(bars, 0, 'no bars after 1101');
      assert.equal(rowsAfter, 0, 'no depth rows after the drop');
      assert.deepEqual(decoderErrors(errors), []);
    } finally {
      api.disconnect();
    }
  });

  it('refused: non-FA requestFA/replaceFA, bad scan code, bad display group 321; unknown report type 430', async () => {
    const { api, errors } = await connectApi(gw.port, 35);
    try {
      const noFa = nextEvent(
        api,
        EventName.error,
        (_e: Error, code: number, r: number) => code === 321 && r === 2147483647,
      );
      api.requestFA(1);
      assert.match((await noFa)[0].message, /FA data operations ignored for non FA customers/);
      const noReplace = errorFor(api, 321, 9);
      api.replaceFA(9, 1, '<ListOfGroups/>');
      await noReplace;
      const e430 = errorFor(api, 430, 10);
      api.reqFundamentalData(10, AAPL, 'CalendarReport');
      await e430;
      const badScan = errorFor(api, 321, 11);
      api.reqScannerSubscription(11, { instrument: 'STK', locationCode: 'STK.US', scanCode: 'NOT_A_SCAN' } as never);
      await badScan;
      const badGroup = errorFor(api, 321, 12);
      api.subscribeToGroupEvents(12, 9);
      await badGroup;
      assert.equal(gw.control.activeSubscriptions().scanners, 0);
      assert.deepEqual(decoderErrors(errors), []);
    } finally {
      api.disconnect();
    }
  });

  it('HTTP control: subscriptions, drop by kind (400 if unknown), bulletins, display groups, what-ifs', async () => {
    const base = `http://127.0.0.1:${gw.controlPort}`;
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const subs = (await (await fetch(`${base}/subscriptions`)).json()) as Record<string, number>;
    assert.equal(typeof subs.depth, 'number');
    assert.equal(typeof subs.realTimeBars, 'number');
    const bad = await post('/subscriptions/drop', { kinds: ['bogus'] });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /expected a subscription kind/);
    const ok = await post('/subscriptions/drop', { kinds: ['scanners'] });
    assert.equal(ok.status, 200);
    const b = (await (await post('/news-bulletins', { message: 'hello', type: 1 })).json()) as { id: number };
    assert.ok(b.id >= 1);
    assert.equal((await post('/display-groups/3', { contractInfo: '272093@SMART' })).status, 200);
    assert.equal(
      ((await (await fetch(`${base}/display-groups`)).json()) as Record<string, string>)['3'],
      '272093@SMART',
    );
    assert.equal((await post('/display-groups/3', { contractInfo: 'garbage' })).status, 400);
    assert.equal((await fetch(`${base}/fa`)).status, 404);
    gw.sim.engine.whatIf.preview(
      9,
      {
        orderId: 77,
        action: 'BUY',
        totalQuantity: 10,
        orderType: 'MKT',
        tif: 'DAY',
        ocaGroup: '',
        ocaType: 0,
        account: '',
        orderRef: '',
        transmit: true,
        parentId: 0,
        outsideRth: false,
      },
      gw.sim.engine.catalogue.bySymbol('MSFT')!,
    );
    const wifs = (await (await fetch(`${base}/what-ifs`)).json()) as Array<{
      orderId: number;
      symbol: string;
      initMarginChange: number;
    }>;
    assert.deepEqual(
      wifs.map((w) => [w.orderId, w.symbol, w.initMarginChange > 0]),
      [[77, 'MSFT', true]],
    );
  });
});
