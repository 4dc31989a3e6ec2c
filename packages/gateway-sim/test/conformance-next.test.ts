import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, filter, take } from 'rxjs';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import { AAPL, ALL_VERSIONS, IBApiNext, MSFT, strictBoundaries, type IBApiT, type SeenError } from './helpers.js';

/** The IBApiNext (RxJS) surface of unmodified @stoqey/ib against the simulator; any error 505 fails. */
for (const serverVersion of ALL_VERSIONS) {
  describe(`IBApiNext conformance – server version ${serverVersion}`, () => {
    let gw: RunningGatewaySim;
    before(async () => {
      gw = await startGatewaySim({ serverVersion, tickIntervalMs: 0 });
    });
    after(async () => {
      await gw.close();
    });

    it('serves every IBApiNext flow with zero decoder errors', async () => {
      const next = new IBApiNext({ host: '127.0.0.1', port: gw.port, maxReqPerSec: 1000 });
      const codes: number[] = [];
      const sub = next.error.subscribe((e: { code: number }) => codes.push(e.code));
      const layout: SeenError[] = [];
      strictBoundaries((next as unknown as { api: IBApiT }).api, layout);
      next.connect(9);
      try {
        assert.ok((await next.getCurrentTime()) > 0);
        assert.deepEqual(await next.getManagedAccounts(), ['DU1234567']);
        const summary = await firstValueFrom(next.getAccountSummary('All', 'NetLiquidation,TotalCashValue'));
        assert.ok(summary.all.get('DU1234567')?.get('TotalCashValue'));
        const positions = await firstValueFrom(next.getPositions());
        assert.equal(positions.all.get('DU1234567')?.[0]?.contract.conId, 265598);
        const details = await next.getContractDetails(AAPL);
        assert.equal(details[0]?.contract.conId, 265598);
        await assert.rejects(
          next.getContractDetails({ symbol: 'NOPE', secType: 'STK' } as never),
          (e: { code: number }) => e.code === 200,
        );

        const orderId = await next.placeNewOrder(AAPL, {
          action: 'BUY',
          orderType: 'MKT',
          totalQuantity: 10,
          transmit: true,
        } as never);
        await gw.control.waitFor(
          () => gw.control.orders().some((o) => o.orderId === orderId && o.clientId === 9 && o.status === 'Filled'),
          3000,
          'fill',
        );
        const execs = await next.getExecutionDetails({ clientId: 9 } as never);
        assert.ok(execs.some((e) => e.execution.orderId === orderId && e.execution.shares === 10));
        const comms = await next.getCommissionReport({} as never);
        assert.ok(comms.length >= 1 && comms.every((c) => c.commission! > 0));

        const restingId = await next.placeNewOrder(MSFT, {
          action: 'SELL',
          orderType: 'LMT',
          lmtPrice: 999,
          totalQuantity: 5,
          transmit: true,
        } as never);
        await gw.control.waitFor(
          () => gw.control.orders().some((o) => o.orderId === restingId && o.status === 'Submitted'),
          3000,
          'resting order',
        );
        const open = await next.getAllOpenOrders();
        const mine = open.find((o) => o.orderId === restingId);
        assert.equal(mine?.orderState.status, 'Submitted');
        assert.ok(mine!.order.permId! > 0);
        next.cancelOrder(restingId);
        await gw.control.waitFor(
          () => gw.control.orders().some((o) => o.orderId === restingId && o.status === 'Cancelled'),
          3000,
          'cancel',
        );

        const snap = await next.getMarketDataSnapshot(AAPL, '', false);
        assert.ok((snap.get(1)?.value ?? 0) > 0, 'bid');
        assert.ok((snap.get(0)?.value ?? 0) > 0, 'bid size');
        const bars = await next.getHistoricalData(AAPL, '', '5 D', '1 day' as never, 'TRADES' as never, 1, 1);
        assert.equal(bars.length, 5);
        assert.ok(bars.every((b) => b.high! >= b.low!));
        const head = await next.getHeadTimestamp(AAPL, 'TRADES' as never, true, 1);
        assert.match(head, /^\d{8}-/);
        const chain = await next.getSecDefOptParams('AAPL', '', 'STK' as never, 265598);
        assert.ok(chain.length >= 1 && chain[0]!.strikes.length === 11);
        const matches = await next.getMatchingSymbols('AAP');
        assert.equal(matches[0]?.contract?.conId, 265598);
        const pnl = await firstValueFrom(
          next.getPnL('DU1234567').pipe(
            filter((p) => p.dailyPnL !== undefined),
            take(1),
          ),
        );
        assert.equal(typeof pnl.unrealizedPnL, 'number');
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
