import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import { AAPL, connectApi, decoderErrors, EventName, MSFT, nextEvent, RawClient, waitUntil } from './helpers.js';

describe('limits and faults', () => {
  let gw: RunningGatewaySim;
  before(async () => {
    gw = await startGatewaySim({ tickIntervalMs: 0, marketDataLines: 2 });
  });
  after(async () => {
    await gw.close();
  });
  beforeEach(() => gw.control.resetViolations());

  it('message rate – more than 50 msg/s gets error 100, the third violation disconnects', async () => {
    const { api, infos } = await connectApi(gw.port, 11, 10_000);
    const gone = nextEvent(api, EventName.disconnected, () => true, 5000);
    // One burst per window: three windows over the limit → three strikes.
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 60; i++) api.reqCurrentTime();
      await waitUntil(() => infos.filter((x) => x.code === 100).length > burst, 3000, `violation ${burst + 1}`);
      if (burst < 2) await new Promise((r) => setTimeout(r, 1050));
    }
    await gone;
    assert.equal(gw.control.violations().byCode['100'], 3);
    assert.match(infos.find((x) => x.code === 100)!.message, /max=50/);
  });

  it('duplicate clientId – second connection gets 326 and is closed; held ids too', async () => {
    const first = await RawClient.ready(gw.port, 12);
    const dup = await RawClient.open(gw.port);
    dup.handshake('v100..193');
    await waitUntil(() => dup.serverVersion > 0);
    dup.send(['71', '2', '12', '']);
    await waitUntil(() => dup.closed, 3000, 'close after 326');
    assert.equal(dup.errors(326).length, 1);
    assert.equal(dup.has('9'), false, 'no NEXT_VALID_ID for a refused client');
    assert.equal(first.closed, false);
    first.close();
    gw.control.holdClientId(13, 10_000);
    const stuck = await RawClient.open(gw.port);
    stuck.handshake('v100..193');
    await waitUntil(() => stuck.serverVersion > 0);
    stuck.send(['71', '2', '13', '']);
    await waitUntil(() => stuck.closed, 3000);
    assert.equal(gw.control.violations().byCode['326'], 2);
  });

  it('historical pacing – 30-s bars: identical within 15 s and BID_ASK counted double give 162', async () => {
    const { api, errors } = await connectApi(gw.port, 14);
    try {
      // IB lifts its pacing limits for bars above 30 s: the same hour-bar request twice is answered twice.
      for (const id of [20, 21]) {
        const finished = (r: number, d: string): boolean => r === id && d.startsWith('finished');
        const hour = nextEvent(api, EventName.historicalData, finished);
        api.reqHistoricalData(id, AAPL, '', '1 D', '1 hour', 'TRADES', 1, 1, false);
        await hour;
      }
      const done = nextEvent(
        api,
        EventName.historicalData,
        (r: number, d: string) => r === 1 && d.startsWith('finished'),
      );
      api.reqHistoricalData(1, AAPL, '', '1800 S', '30 secs', 'TRADES', 1, 1, false);
      await done;
      const e162 = nextEvent(api, EventName.error, (_e: Error, code: number, r: number) => code === 162 && r === 2);
      api.reqHistoricalData(2, AAPL, '', '1800 S', '30 secs', 'TRADES', 1, 1, false);
      await e162;
      // BID_ASK counts as two: the third BID_ASK request for one contract within 2 s makes six.
      for (let i = 0; i < 3; i++) {
        api.reqHistoricalData(10 + i, MSFT, '', `${(i + 1) * 600} S`, '30 secs', 'BID_ASK', 1, 1, false);
      }
      await nextEvent(api, EventName.error, (_e: Error, code: number, r: number) => code === 162 && r === 12);
      assert.equal(gw.control.violations().byCode['162'], 2);
      assert.deepEqual(decoderErrors(errors), []);
    } finally {
      api.disconnect();
    }
  });

  it("50 open historical requests across the clients of the session: the 51st gets 322 with IB's text", async () => {
    const a = await connectApi(gw.port, 16);
    const b = await connectApi(gw.port, 17);
    try {
      const finished = (id: number) => (r: number, d: string) => r === id && d.startsWith('finished');
      // keepUpToDate requests stay open until cancelled: 30 from one client, 20 from another.
      const opened = [
        ...Array.from({ length: 30 }, (_, i) => [a.api, 100 + i] as const),
        ...Array.from({ length: 20 }, (_, i) => [b.api, 200 + i] as const),
      ].map(async ([api, id]) => {
        const first = nextEvent(api, EventName.historicalData, finished(id));
        api.reqHistoricalData(id, AAPL, '', '2 D', '1 hour', 'TRADES', 1, 1, true);
        await first;
      });
      await Promise.all(opened);
      const refused = nextEvent(
        a.api,
        EventName.error,
        (_e: Error, code: number, r: number) => code === 322 && r === 300,
      );
      a.api.reqHistoricalData(300, MSFT, '', '1 D', '1 hour', 'TRADES', 1, 1, false);
      const [error] = (await refused) as [Error];
      assert.equal(
        error.message,
        "Error processing request:-'wd' : cause - Only 50 simultaneous API historical data requests allowed.",
      );
      assert.equal(gw.control.violations().byCode['322'], 1);
      // One stream ends on the other client: a place is free for everyone.
      b.api.cancelHistoricalData(200);
      await waitUntil(() => gw.control.activeSubscriptions().historicalUpdates === 49, 3000, 'cancel seen');
      const served = nextEvent(a.api, EventName.historicalData, finished(301));
      a.api.reqHistoricalData(301, MSFT, '', '1 D', '1 hour', 'TRADES', 1, 1, false);
      await served;
      assert.deepEqual(decoderErrors(a.errors), []);
    } finally {
      a.api.disconnect();
      b.api.disconnect();
    }
  });

  it('market-data lines – over the limit gives 101; a 1101 notice drops subscriptions', async () => {
    const { api, infos } = await connectApi(gw.port, 15);
    try {
      api.reqMktData(1, AAPL, '', false, false);
      api.reqMktData(2, MSFT, '', false, false);
      const e101 = nextEvent(api, EventName.error, (_e: Error, code: number, r: number) => code === 101 && r === 3);
      api.reqMktData(3, { symbol: 'IBM', secType: 'STK', exchange: 'SMART', currency: 'USD' }, '', false, false);
      await e101;
      assert.equal(gw.control.activeMarketDataLines(), 2);
      gw.control.sendNotice(1101);
      await waitUntil(() => infos.some((i) => i.code === 1101));
      assert.equal(gw.control.activeMarketDataLines(), 0);
      await gw.control.flapFarm('usfarm', { downMs: 20 });
      await waitUntil(() => infos.some((i) => i.code === 2104 && infos.some((j) => j.code === 2103)));
      assert.equal(gw.control.violations().byCode['101'], 1);
    } finally {
      api.disconnect();
    }
  });

  it('restart – drops every client, refuses connections while down, then accepts again', async () => {
    const a = await RawClient.ready(gw.port, 16);
    const b = await RawClient.ready(gw.port, 17);
    const restarting = gw.control.restart({ downMs: 300 });
    await waitUntil(() => a.closed && b.closed, 2000, 'everyone dropped');
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(gw.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.equal(refused, true);
    await restarting;
    const c = await RawClient.ready(gw.port, 16);
    assert.equal(c.has('15'), true);
    c.close();
  });
});

describe('orders across clients', () => {
  let gw: RunningGatewaySim;
  before(async () => {
    gw = await startGatewaySim({ tickIntervalMs: 0 });
  });
  after(async () => {
    await gw.close();
  });

  it('client 0 with auto-open-orders sees other clients’ orders; brackets, OCA, stops, partial fills', async () => {
    const master = await connectApi(gw.port, 0);
    const trader = await connectApi(gw.port, 21);
    try {
      master.api.reqAutoOpenOrders(true);
      await gw.control.waitFor(() => gw.control.received({ clientId: 0, name: 'REQ_AUTO_OPEN_ORDERS' }).length === 1);
      const seenByMaster = nextEvent(
        master.api,
        EventName.orderStatus,
        (
          id: number,
          s: string,
          _f: number,
          _r: number,
          _a: number,
          _p: number,
          _pa: number,
          _l: number,
          clientId: number,
        ) => id === 1 && s === 'Filled' && clientId === 21,
      );
      gw.control.fillNext({ quantities: [4, 6], price: 190 });
      const partial = nextEvent(
        trader.api,
        EventName.orderStatus,
        (id: number, s: string, filled: number) => id === 1 && s === 'Submitted' && filled === 4,
      );
      trader.api.placeOrder(1, AAPL, { action: 'BUY', orderType: 'MKT', totalQuantity: 10, transmit: true });
      await Promise.all([partial, seenByMaster]);

      // Bracket: parent LMT (held), take-profit LMT and stop-loss STP; transmitting the last child sends all.
      const parent = { action: 'BUY', orderType: 'LMT', lmtPrice: 100, totalQuantity: 3, transmit: false };
      trader.api.placeOrder(2, MSFT, parent);
      trader.api.placeOrder(3, MSFT, {
        action: 'SELL',
        orderType: 'LMT',
        lmtPrice: 500,
        totalQuantity: 3,
        parentId: 2,
        transmit: false,
      });
      trader.api.placeOrder(4, MSFT, {
        action: 'SELL',
        orderType: 'STP',
        auxPrice: 90,
        totalQuantity: 3,
        parentId: 2,
        transmit: true,
      });
      const byId = (id: number) => gw.control.orders().find((o) => o.clientId === 21 && o.orderId === id)!;
      await gw.control.waitFor(
        () => byId(4)?.status === 'PreSubmitted' && byId(2)?.status === 'Submitted',
        3000,
        'bracket transmitted',
      );
      assert.equal(byId(3).status, 'PreSubmitted');
      gw.control.setPrice('MSFT', 99);
      assert.equal(byId(2).status, 'Filled');
      assert.equal(byId(3).status, 'Submitted');
      gw.control.setPrice('MSFT', 89);
      assert.equal(byId(4).status, 'Filled', 'stop triggered and filled');
      assert.equal(byId(3).status, 'Cancelled', 'sibling cancelled as one OCA group');

      // Explicit OCA group: one fill cancels the other.
      trader.api.placeOrder(5, AAPL, {
        action: 'SELL',
        orderType: 'LMT',
        lmtPrice: 300,
        totalQuantity: 1,
        ocaGroup: 'g1',
        ocaType: 1,
        transmit: true,
      });
      trader.api.placeOrder(6, AAPL, {
        action: 'SELL',
        orderType: 'LMT',
        lmtPrice: 301,
        totalQuantity: 1,
        ocaGroup: 'g1',
        ocaType: 1,
        transmit: true,
      });
      await gw.control.waitFor(() => byId(6)?.status === 'Submitted', 3000, 'oca placed');
      gw.control.fillOrder({ orderId: 5, clientId: 21 });
      assert.equal(byId(6).status, 'Cancelled');

      // Reject with a given code; global cancel from any client.
      gw.control.rejectNext({ code: 201, text: 'Order rejected - reason:Simulated margin check' });
      const rejected = nextEvent(
        trader.api,
        EventName.error,
        (_e: Error, code: number, id: number) => code === 201 && id === 7,
      );
      trader.api.placeOrder(7, AAPL, {
        action: 'BUY',
        orderType: 'LMT',
        lmtPrice: 1,
        totalQuantity: 1,
        transmit: true,
      });
      await rejected;
      trader.api.placeOrder(8, AAPL, {
        action: 'BUY',
        orderType: 'LMT',
        lmtPrice: 1,
        totalQuantity: 1,
        transmit: true,
      });
      await gw.control.waitFor(() => byId(8)?.status === 'Submitted');
      master.api.reqGlobalCancel({});
      await gw.control.waitFor(() => byId(8)?.status === 'Cancelled', 3000, 'global cancel');

      // What-if: answered to the asker only; client 0's auto-open stream sees nothing, a pending fillNext
      // is left for the next real order, the id stays free for it, and a bad what-if gets IB's error.
      const masterSaw: number[] = [];
      master.api.on(EventName.openOrder, (id: number) => masterSaw.push(id));
      master.api.on(EventName.orderStatus, (id: number) => masterSaw.push(id));
      gw.control.fillNext({ price: 191 });
      const countBefore = gw.control.orders().length;
      const preview = nextEvent(
        trader.api,
        EventName.openOrder,
        (id: number, _c: unknown, o: { whatIf: boolean }) => id === 9 && o.whatIf,
      );
      trader.api.placeOrder(9, AAPL, {
        action: 'SELL',
        orderType: 'MKT',
        totalQuantity: 2,
        whatIf: true,
        transmit: true,
      });
      const [, , , state] = await preview;
      assert.equal(state.status, 'PreSubmitted');
      const e434 = nextEvent(
        trader.api,
        EventName.error,
        (_e: Error, code: number, id: number) => code === 434 && id === 10,
      );
      trader.api.placeOrder(10, AAPL, {
        action: 'BUY',
        orderType: 'MKT',
        totalQuantity: 0,
        whatIf: true,
        transmit: true,
      });
      await e434;
      const masterTime = nextEvent(master.api, EventName.currentTime);
      master.api.reqCurrentTime();
      await masterTime;
      assert.deepEqual(masterSaw, []);
      assert.equal(gw.control.orders().length, countBefore);
      assert.deepEqual(
        gw.control.whatIfs().map((w) => [w.clientId, w.orderId]),
        [[21, 9]],
      );
      trader.api.placeOrder(9, AAPL, { action: 'SELL', orderType: 'MKT', totalQuantity: 2, transmit: true });
      await gw.control.waitFor(
        () => byId(9)?.status === 'Filled' && byId(9)?.avgFillPrice === 191,
        3000,
        'real order with the what-if id',
      );

      const permIds = gw.control.orders().map((o) => o.permId);
      assert.equal(new Set(permIds).size, permIds.length);
      assert.deepEqual(decoderErrors([...master.errors, ...trader.errors]), []);
      assert.deepEqual(
        gw.control
          .connections()
          .map((c) => c.clientId)
          .sort(),
        [0, 21],
      );
    } finally {
      master.api.disconnect();
      trader.api.disconnect();
    }
  });
});
