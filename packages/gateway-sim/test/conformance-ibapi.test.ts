import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import {
  AAPL,
  ALL_VERSIONS,
  connectApi,
  decoderErrors,
  EventName,
  MSFT,
  nextEvent,
  waitUntil,
  type IBApiT,
  type SeenError,
} from './helpers.js';

/**
 * Every flow through an unmodified @stoqey/ib IBApi (events), at each supported server version and with
 * fragmented delivery. @stoqey/ib's strict decoder is the layout checker: any error 505 fails.
 */
async function runFlows(gw: RunningGatewaySim, api: IBApiT, errors: SeenError[], clientId: number): Promise<void> {
  // current time and managed accounts
  const [time] = await Promise.all([nextEvent(api, EventName.currentTime), Promise.resolve(api.reqCurrentTime())]).then(
    ([a]) => a,
  );
  assert.ok(Math.abs(time - Date.now() / 1000) < 60);
  const accts = nextEvent(api, EventName.managedAccounts);
  api.reqManagedAccts();
  assert.equal((await accts)[0], 'DU1234567');

  // account summary (+end)
  const summary: Record<string, string> = {};
  api.on(EventName.accountSummary, (_r: number, _a: string, tag: string, value: string) => {
    summary[tag] = value;
  });
  const sumEnd = nextEvent(api, EventName.accountSummaryEnd, (r: number) => r === 1);
  api.reqAccountSummary(1, 'All', 'NetLiquidation,TotalCashValue,BuyingPower,AccountType');
  await sumEnd;
  assert.equal(summary.AccountType, 'INDIVIDUAL');
  assert.ok(Number(summary.TotalCashValue) > 0);
  api.cancelAccountSummary(1);

  // positions (+end), subscription kept for the fill below
  const positions = new Map<number, number>();
  api.on(EventName.position, (_a: string, c: { conId: number }, pos: number) => positions.set(c.conId, pos));
  const posEnd = nextEvent(api, EventName.positionEnd);
  api.reqPositions();
  await posEnd;
  const aaplBefore = positions.get(265598)!;
  assert.ok(aaplBefore >= 100);

  // contract details (+end) and error 200
  const cd = nextEvent(api, EventName.contractDetails, (r: number) => r === 2);
  const cdEnd = nextEvent(api, EventName.contractDetailsEnd, (r: number) => r === 2);
  api.reqContractDetails(2, AAPL);
  const [, details] = await cd;
  await cdEnd;
  assert.equal(details.contract.conId, 265598);
  assert.equal(details.longName, 'APPLE INC');
  const e200 = nextEvent(api, EventName.error, (_e: Error, code: number, reqId: number) => code === 200 && reqId === 3);
  api.reqContractDetails(3, { symbol: 'NOPE', secType: 'STK', exchange: 'SMART', currency: 'USD' } as never);
  await e200;

  // MKT buy that fills: execution (reqId −1), statuses, commission, position update
  const ids = nextEvent(api, EventName.nextValidId);
  api.reqIds(1);
  const [orderId] = await ids;
  const seq: string[] = [];
  const onOpen = (id: number, _c: unknown, _o: unknown, st: { status: string }): void => {
    if (id === orderId) seq.push(`open:${st.status}`);
  };
  const onStatus = (id: number, status: string): void => {
    if (id === orderId) seq.push(`status:${status}`);
  };
  const onExec = (reqId: number, _c: unknown, ex: { orderId: number }): void => {
    if (ex.orderId === orderId) seq.push(`exec:${reqId}`);
  };
  const onComm = (): void => {
    seq.push('commission');
  };
  api
    .on(EventName.openOrder, onOpen)
    .on(EventName.orderStatus, onStatus)
    .on(EventName.execDetails, onExec)
    .on(EventName.commissionReport, onComm);
  const permIds = new Set<number>();
  api.on(EventName.orderStatus, (id: number, _s: string, _f: number, _r: number, _a: number, permId: number) => {
    if (id === orderId) permIds.add(permId);
  });
  const posUpdate = nextEvent(
    api,
    EventName.position,
    (_a: string, c: { conId: number }, pos: number) => c.conId === 265598 && pos === aaplBefore + 5,
  );
  api.placeOrder(orderId, AAPL, { action: 'BUY', orderType: 'MKT', totalQuantity: 5, transmit: true } as never);
  await posUpdate;
  assert.deepEqual(seq, [
    'open:Submitted',
    'status:Submitted',
    'exec:-1',
    'status:Filled',
    'open:Filled',
    'commission',
  ]);
  assert.equal(permIds.size, 1);
  assert.ok([...permIds][0]! > 0);
  api
    .off(EventName.openOrder, onOpen)
    .off(EventName.orderStatus, onStatus)
    .off(EventName.execDetails, onExec)
    .off(EventName.commissionReport, onComm);

  // what-if (with an algo block before the flag): one OPEN_ORDER, whatIf and PreSubmitted, carrying the
  // margin and commission preview; no ORDER_STATUS, no order, no permId, not among the open orders
  const wifId = orderId + 50;
  const ordersBefore = gw.control.orders().length;
  const wifEvents: string[] = [];
  const onWifOpen = (id: number): void => {
    if (id === wifId) wifEvents.push('open');
  };
  const onWifStatus = (id: number): void => {
    if (id === wifId) wifEvents.push('status');
  };
  api.on(EventName.openOrder, onWifOpen).on(EventName.orderStatus, onWifStatus);
  const wif = nextEvent(api, EventName.openOrder, (id: number) => id === wifId);
  api.placeOrder(wifId, AAPL, {
    action: 'BUY',
    orderType: 'LMT',
    lmtPrice: 190,
    totalQuantity: 10,
    whatIf: true,
    transmit: true,
    algoStrategy: 'Adaptive',
    algoParams: [{ tag: 'adaptivePriority', value: 'Normal' }],
  } as never);
  const [, , wOrder, st] = await wif;
  assert.equal(wOrder.whatIf, true);
  assert.equal(wOrder.permId, 0);
  assert.equal(st.status, 'PreSubmitted');
  assert.ok(st.initMarginChange > 0 && st.maintMarginChange > 0, 'margin change');
  assert.ok(st.initMarginBefore > 0 && st.equityWithLoanBefore > 0, 'before figures');
  assert.ok(Math.abs(st.initMarginBefore + st.initMarginChange - st.initMarginAfter) < 0.011);
  assert.ok(Math.abs(st.equityWithLoanBefore + st.equityWithLoanChange - st.equityWithLoanAfter) < 0.011);
  assert.ok(st.commission > 0);
  assert.equal(st.commissionCurrency, 'USD');
  const tick = nextEvent(api, EventName.currentTime);
  api.reqCurrentTime();
  await tick;
  api.off(EventName.openOrder, onWifOpen).off(EventName.orderStatus, onWifStatus);
  assert.deepEqual(wifEvents, ['open']);
  assert.equal(gw.control.orders().length, ordersBefore);
  assert.equal(gw.control.whatIfs().at(-1)?.orderId, wifId);

  // resting LMT: visible in all open orders, modified in place, then cancelled (202); unknown cancel → 10147
  const lmtId = orderId + 1;
  const rest = nextEvent(api, EventName.orderStatus, (id: number, s: string) => id === lmtId && s === 'Submitted');
  api.placeOrder(lmtId, MSFT, {
    action: 'SELL',
    orderType: 'LMT',
    lmtPrice: 999,
    totalQuantity: 5,
    transmit: true,
  } as never);
  await rest;
  const listed: number[] = [];
  const onList = (id: number): void => {
    listed.push(id);
  };
  api.on(EventName.openOrder, onList);
  const openEnd = nextEvent(api, EventName.openOrderEnd);
  api.reqAllOpenOrders();
  await openEnd;
  api.off(EventName.openOrder, onList);
  assert.ok(listed.includes(lmtId));
  assert.ok(!listed.includes(wifId), 'a what-if is not an open order');
  const modified = nextEvent(
    api,
    EventName.openOrder,
    (id: number, _c: unknown, o: { lmtPrice: number }) => id === lmtId && o.lmtPrice === 998,
  );
  api.placeOrder(lmtId, MSFT, {
    action: 'SELL',
    orderType: 'LMT',
    lmtPrice: 998,
    totalQuantity: 5,
    transmit: true,
  } as never);
  await modified;
  const cancelled = nextEvent(api, EventName.orderStatus, (id: number, s: string) => id === lmtId && s === 'Cancelled');
  const e202 = nextEvent(
    api,
    EventName.error,
    (_e: Error, code: number, reqId: number) => code === 202 && reqId === lmtId,
  );
  api.cancelOrder(lmtId, {} as never);
  await Promise.all([cancelled, e202]);
  const e10147 = nextEvent(
    api,
    EventName.error,
    (_e: Error, code: number, reqId: number) => code === 10147 && reqId === 424242,
  );
  api.cancelOrder(424242, {} as never);
  await e10147;

  // executions (+end) with commission reports; completed orders (+end)
  const execs: string[] = [];
  api.on(EventName.execDetails, (reqId: number, _c: unknown, ex: { execId: string }) => {
    if (reqId === 7) execs.push(ex.execId);
  });
  const comms: string[] = [];
  api.on(EventName.commissionReport, (r: { execId: string }) => comms.push(r.execId));
  const execEnd = nextEvent(api, EventName.execDetailsEnd, (r: number) => r === 7);
  api.reqExecutions(7, { clientId } as never);
  await execEnd;
  assert.ok(execs.length >= 1);
  assert.ok(execs.every((id) => comms.includes(id)));
  let completed = 0;
  api.on(EventName.completedOrder, () => {
    completed++;
  });
  const compEnd = nextEvent(api, EventName.completedOrdersEnd);
  api.reqCompletedOrders(false);
  await compEnd;
  assert.ok(completed >= 2);

  // market data snapshot (explicit BID_SIZE) and streaming + cancel
  const ticks = new Map<number, number>();
  const onTick = (reqId: number, type: number, v: number): void => {
    if (reqId === 8) ticks.set(type, v);
  };
  api.on(EventName.tickPrice, onTick).on(EventName.tickSize, onTick);
  const snapEnd = nextEvent(api, EventName.tickSnapshotEnd, (r: number) => r === 8);
  api.reqMktData(8, AAPL, '', true, false);
  await snapEnd;
  assert.ok(ticks.get(1)! > 0 && ticks.get(2)! > ticks.get(1)!);
  assert.ok(ticks.get(0)! > 0, 'BID_SIZE present');
  const linesBefore = gw.control.activeMarketDataLines();
  const firstTick = nextEvent(api, EventName.tickPrice, (r: number) => r === 9);
  api.reqMktData(9, MSFT, '233,236', false, false);
  await firstTick;
  assert.equal(gw.control.activeMarketDataLines(), linesBefore + 1);
  const moved = nextEvent(
    api,
    EventName.tickPrice,
    (r: number, type: number, price: number) => r === 9 && type === 4 && price === 420,
  );
  gw.control.setPrice('MSFT', 420);
  await moved;
  api.cancelMktData(9);
  await waitUntil(() => gw.control.activeMarketDataLines() === linesBefore, 2000, 'line released');

  // historical bars, keepUpToDate updates + cancel, head timestamp
  const bars: string[] = [];
  const histDone = nextEvent(
    api,
    EventName.historicalData,
    (r: number, date: string) => r === 10 && date.startsWith('finished'),
  );
  api.on(EventName.historicalData, (r: number, date: string) => {
    if (r === 10 && !date.startsWith('finished')) bars.push(date);
  });
  api.reqHistoricalData(10, AAPL, '', '5 D', '1 day', 'TRADES', 1, 1, false);
  await histDone;
  assert.equal(bars.length, 5);
  const initial = nextEvent(
    api,
    EventName.historicalData,
    (r: number, date: string) => r === 11 && date.startsWith('finished'),
  );
  api.reqHistoricalData(11, MSFT, '', '1800 S', '5 mins', 'MIDPOINT', 1, 1, true);
  await initial;
  const upd = nextEvent(
    api,
    EventName.historicalDataUpdate,
    (r: number, _d: string, _o: number, _h: number, _l: number, close: number) => r === 11 && close === 421,
  );
  gw.control.setPrice('MSFT', 421);
  await upd;
  api.cancelHistoricalData(11);
  const head = nextEvent(api, EventName.headTimestamp, (r: number) => r === 12);
  api.reqHeadTimestamp(12, AAPL, 'TRADES', true, 1);
  assert.match((await head)[1], /^\d{8}-\d{2}:\d{2}:\d{2}$/);

  // account updates, PnL, PnL single, matching symbols, option chain, delayed data type
  const dlEnd = nextEvent(api, EventName.accountDownloadEnd);
  const portfolio = nextEvent(api, EventName.updatePortfolio);
  api.reqAccountUpdates(true, 'DU1234567');
  await Promise.all([dlEnd, portfolio]);
  api.reqAccountUpdates(false, 'DU1234567');
  const pnl = nextEvent(api, EventName.pnl, (r: number) => r === 13);
  api.reqPnL(13, 'DU1234567', '');
  await pnl;
  api.cancelPnL(13);
  const pnlSingle = nextEvent(api, EventName.pnlSingle, (r: number) => r === 14);
  api.reqPnLSingle(14, 'DU1234567', '', 265598);
  assert.ok((await pnlSingle)[1] >= 100);
  api.cancelPnLSingle(14);
  const samples = nextEvent(api, EventName.symbolSamples, (r: number) => r === 15);
  api.reqMatchingSymbols(15, 'MS');
  assert.equal((await samples)[1][0].contract.symbol, 'MSFT');
  const chain = nextEvent(api, EventName.securityDefinitionOptionParameter, (r: number) => r === 16);
  const chainEnd = nextEvent(api, EventName.securityDefinitionOptionParameterEnd, (r: number) => r === 16);
  api.reqSecDefOptParams(16, 'AAPL', '', 'STK' as never, 265598);
  const [, , underConId, , , expirations, strikes] = await chain;
  await chainEnd;
  assert.equal(underConId, 265598);
  assert.equal(expirations.length, 2);
  assert.ok(strikes.includes(190));
  api.reqMarketDataType(3);
  const delayed = nextEvent(api, EventName.tickPrice, (r: number, type: number) => r === 17 && type === 66);
  const mdType = nextEvent(api, EventName.marketDataType, (r: number, t: number) => r === 17 && t === 3);
  api.reqMktData(17, AAPL, '', true, false);
  await Promise.all([delayed, mdType]);
  api.reqMarketDataType(1);

  // every account of the login: account values and positions per account (the *Multi requests)
  const values: Array<[string, string, string]> = [];
  api.on(EventName.accountUpdateMulti, (r: number, acct: string, _m: string, key: string, _v: string, cur: string) => {
    if (r === 18) values.push([acct, key, cur]);
  });
  // @stoqey/ib 1.6 emits this reqId as text (IB's EDecoder reads an int).
  const valuesEnd = nextEvent(api, EventName.accountUpdateMultiEnd, (r: number | string) => Number(r) === 18);
  api.reqAccountUpdatesMulti(18, 'DU1234567', '', false);
  await valuesEnd;
  assert.ok(values.some(([a, k, c]) => a === 'DU1234567' && k === 'NetLiquidation' && c === 'USD'));
  assert.ok(values.some(([, k, c]) => k === 'CashBalance' && c === 'BASE'));
  api.cancelAccountUpdatesMulti(18);
  const multiPos = nextEvent(api, EventName.positionMulti, (r: number) => r === 19);
  const multiPosEnd = nextEvent(api, EventName.positionMultiEnd, (r: number | string) => Number(r) === 19);
  api.reqPositionsMulti(19, 'DU1234567', '');
  const [, posAccount, , posContract, pos] = await multiPos;
  await multiPosEnd;
  const held = gw.control.positions().find((p) => p.account === 'DU1234567' && p.conId === 265598)!.quantity;
  assert.deepEqual([posAccount, posContract.conId, pos], ['DU1234567', 265598, held]);
  api.cancelPositionsMulti(19);

  // historical ticks of each kind, back from now
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const now = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:00:00`;
  const kinds = [
    ['TRADES', EventName.historicalTicksLast],
    ['BID_ASK', EventName.historicalTicksBidAsk],
    ['MIDPOINT', EventName.historicalTicks],
  ] as const;
  for (const [i, [what, event]] of kinds.entries()) {
    const got = nextEvent(api, event, (r: number) => r === 20 + i);
    api.reqHistoricalTicks(20 + i, AAPL, '', now, 10, what as never, 1, false);
    const [, ticks, done] = await got;
    assert.equal(done, true);
    assert.ok(ticks.length >= 1 && ticks.length <= 10, `${what}: ${ticks.length} ticks`);
    assert.ok(Number.isInteger(ticks[0].time) && ticks[0].time <= Date.now() / 1000);
  }

  assert.deepEqual(decoderErrors(errors), []);
}

const CASES: Array<{ name: string; serverVersion: number; fragment?: { maxChunk: number } }> = [
  ...ALL_VERSIONS.map((v) => ({ name: `server version ${v}`, serverVersion: v })),
  { name: 'server version 176, output dripped in 1–7 byte chunks', serverVersion: 176, fragment: { maxChunk: 7 } },
];

for (const c of CASES) {
  describe(`IBApi conformance – ${c.name}`, () => {
    let gw: RunningGatewaySim;
    before(async () => {
      gw = await startGatewaySim({ serverVersion: c.serverVersion, fragment: c.fragment, tickIntervalMs: 0 });
    });
    after(async () => {
      await gw.close();
    });

    it('negotiates the version and completes every flow with zero 505 errors', async () => {
      const { api, errors, infos } = await connectApi(gw.port, 5);
      try {
        assert.equal(api.serverVersion, c.serverVersion);
        await waitUntil(() => infos.length >= 3, 2000, 'farm notices');
        assert.deepEqual(
          infos.slice(0, 3).map((i) => i.code),
          [2104, 2106, 2158],
        );
        await runFlows(gw, api, errors, 5);
      } finally {
        api.disconnect();
      }
    });
  });
}
