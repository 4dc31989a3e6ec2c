import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AAPL, eventually, http, startStack, type Stack } from './helpers.js';

describe('orders – an order’s whole life against the simulator', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('POST /order?wait=filled: submit → partial → filled, with history, fills and commissions', async () => {
    s.sim.control.fillNext({ quantities: [4, 6] });
    const r = await http(`${s.url}/order?wait=filled`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 10, orderType: 'MKT' } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'Filled');
    assert.equal(r.body.filled, 10);
    assert.equal(r.body.remaining, 0);
    assert.equal(r.body.clientId, 3);
    assert.ok(r.body.permId > 0);
    assert.ok(r.body.avgFillPrice > 0);
    assert.ok(
      r.body.history.some((h: { filled: number; remaining: number }) => h.filled === 4 && h.remaining === 6),
      JSON.stringify(r.body.history),
    );
    assert.equal(r.body.history.at(-1).status, 'Filled');
    const orderId = r.body.orderId;
    // Mirror reads after the fills: fills with commissions, executions, positions.
    const one = await eventually(async () => {
      const g = await http(`${s.url}/order/${orderId}`);
      return g.body.fills?.length === 2 &&
        g.body.fills.every((f: { commission?: number }) => f.commission !== undefined)
        ? g
        : undefined;
    });
    assert.equal(one!.status, 200);
    const ex = await http(`${s.url}/executions?symbol=AAPL&side=BUY`);
    assert.equal(ex.status, 200);
    const mine = ex.body.executions.filter((e: { execution: { orderId: number } }) => e.execution.orderId === orderId);
    assert.equal(mine.length, 2);
    assert.ok(
      mine.every(
        (e: { commissionReport?: { commission: number } }) => typeof e.commissionReport?.commission === 'number',
      ),
    );
    const sells = await http(`${s.url}/executions?symbol=AAPL&side=SELL`);
    assert.equal(
      sells.body.executions.filter((e: { execution: { orderId: number } }) => e.execution.orderId === orderId).length,
      0,
    );
    await eventually(
      async () => {
        const p = await http(`${s.url}/account/positions`);
        return p.body.positions.find(
          (x: { contract: { symbol: string }; pos: number }) => x.contract.symbol === 'AAPL' && x.pos === 110,
        );
      },
      5000,
      'AAPL position 110',
    );
    const all = await http(`${s.url}/order?all=true`);
    assert.ok(
      all.body.orders.some((o: { orderId: number; status: string }) => o.orderId === orderId && o.status === 'Filled'),
    );
    const open = await http(`${s.url}/order`);
    assert.ok(!open.body.orders.some((o: { orderId: number }) => o.orderId === orderId));
  });

  it('resting LMT → modify → cancel; a final order cannot be cancelled again', async () => {
    const placed = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 5, orderType: 'LMT', lmtPrice: 100, tif: 'GTC' } },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.ok(['PreSubmitted', 'Submitted'].includes(placed.body.status), placed.body.status);
    const id = placed.body.orderId;
    const listed = await http(`${s.url}/order`);
    assert.ok(listed.body.orders.some((o: { orderId: number }) => o.orderId === id));
    const mod = await http(`${s.url}/order/${id}`, {
      method: 'PUT',
      json: { order: { lmtPrice: 101.5, totalQuantity: 7 } },
    });
    assert.equal(mod.status, 200, JSON.stringify(mod.body));
    await eventually(
      () => {
        const o = s.sim.control.orders().find((x) => x.orderId === id && x.clientId === 3);
        return o?.lmtPrice === 101.5 && o.totalQuantity === 7;
      },
      3000,
      'simulator sees the modified order',
    );
    const cancelled = await http(`${s.url}/order/${id}`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.ok(['Cancelled', 'ApiCancelled'].includes(cancelled.body.status));
    const again = await http(`${s.url}/order/${id}`, { method: 'DELETE' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ORDER_NOT_MODIFIABLE');
    const modFinal = await http(`${s.url}/order/${id}`, { method: 'PUT', json: { order: { lmtPrice: 99 } } });
    assert.equal(modFinal.status, 409);
  });

  it('DELETE /order?orderId= (seed form) cancels', async () => {
    const placed = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'SELL', totalQuantity: 1, orderType: 'LMT', lmtPrice: 999 } },
    });
    assert.equal(placed.status, 201);
    const r = await http(`${s.url}/order?orderId=${placed.body.orderId}`, { method: 'DELETE' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(['Cancelled', 'ApiCancelled'].includes(r.body.status));
    const missing = await http(`${s.url}/order`, { method: 'DELETE' });
    assert.equal(missing.status, 400);
  });

  it(
    'bracket: explicit { bracket: { parent, takeProfit, stopLoss } }; children reference the parent, only the last ' +
      'transmits',
    async () => {
      const r = await http(`${s.url}/order`, {
        method: 'POST',
        json: {
          bracket: {
            parent: { contract: AAPL, order: { action: 'BUY', totalQuantity: 3, orderType: 'LMT', lmtPrice: 100 } },
            takeProfit: { order: { orderType: 'LMT', lmtPrice: 300 } },
            stopLoss: { order: { orderType: 'STP', auxPrice: 80 } },
          },
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.orders.length, 3);
      const [parent, tp, sl] = r.body.orders;
      assert.equal(tp.parentId, parent.orderId);
      assert.equal(sl.parentId, parent.orderId);
      const sim = s.sim.control
        .orders()
        .filter((o) => o.clientId === 3 && [parent.orderId, tp.orderId, sl.orderId].includes(o.orderId));
      assert.equal(sim.length, 3);
      assert.ok(sim.filter((o) => o.orderId !== parent.orderId).every((o) => o.parentId === parent.orderId));
      const c = await http(`${s.url}/order/${parent.orderId}`, { method: 'DELETE' });
      assert.equal(c.status, 200);
    },
  );

  it('rejected order → 422 ORDER_REJECTED with IB’s code and text', async () => {
    s.sim.control.rejectNext({ code: 201, text: 'Order rejected - reason: margin' });
    const r = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
    });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'ORDER_REJECTED');
    assert.equal(r.body.error.ibCode, 201);
    assert.match(r.body.error.message, /margin/);
  });

  it('unknown orders → 404 without reaching IB', async () => {
    const before = s.sim.control.received({ clientId: 3, msgId: 4 }).length;
    for (const req of [
      http(`${s.url}/order/987654`),
      http(`${s.url}/order/987654`, { method: 'DELETE' }),
      http(`${s.url}/order/987654`, { method: 'PUT', json: { order: { lmtPrice: 1 } } }),
    ]) {
      const r = await req;
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'ORDER_NOT_FOUND');
    }
    assert.equal(s.sim.control.received({ clientId: 3, msgId: 4 }).length, before);
  });

  it('deadline on wait=filled → 504 with the order’s state; the order lives on', async () => {
    const r = await http(`${s.url}/order?wait=filled&timeout=0.3`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 2, orderType: 'LMT', lmtPrice: 50 } },
    });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'DEADLINE_EXCEEDED');
    const id = r.body.error.details.orderId;
    const g = await http(`${s.url}/order/${id}`);
    assert.ok(['PreSubmitted', 'Submitted'].includes(g.body.status));
  });
});
