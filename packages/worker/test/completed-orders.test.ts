import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AAPL, eventually, http, startStack, type Stack } from './helpers.js';

/**
 * IB's completed orders are the only way to learn that an order ended while the worker was away. Gateways of the
 * 10.19 line run server version 176, where COMPLETED_ORDER still carries faProfile (the patched @stoqey/ib reads
 * it; unpatched it misreads every completed order there).
 */
for (const serverVersion of [176, 187]) {
  describe(`completed orders at server version ${serverVersion}`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ IB_CLIENT_ID: '0' }, { serverVersion });
    });
    after(async () => {
      await stack.close();
    });

    it('an order cancelled at IB while the gateway was down is Cancelled after the reconnect', async () => {
      const order = { action: 'BUY', totalQuantity: 2, orderType: 'LMT', lmtPrice: 50 };
      const placed = await http(`${stack.url}/order`, { method: 'POST', json: { contract: AAPL, order } });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      const orderId = placed.body.orderId as number;
      const before = stack.worker.safety.reconciler!.status().lastRun;
      // The gateway restarts; meanwhile a TWS user cancels the order (only COMPLETED_ORDER will tell).
      const restarted = stack.sim.control.restart({ downMs: 300 });
      await eventually(() => stack.sim.control.connections().length === 0, 2000, 'dropped');
      assert.deepEqual(stack.sim.sim.engine.orders.cancel(0, orderId), { ok: true });
      await restarted;
      await eventually(
        () => {
          const run = stack.worker.safety.reconciler!.status().lastRun;
          return run !== undefined && run !== before && run.complete && run.completedOrders >= 1;
        },
        10_000,
        'reconciled with completed orders',
      );
      await eventually(
        async () => {
          const got = await http(`${stack.url}/order/${orderId}`);
          return got.status === 200 && got.body.status === 'Cancelled';
        },
        10_000,
        'order shows Cancelled',
      );
    });
  });
}
