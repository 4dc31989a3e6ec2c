import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EventName, IBApi, OrderAction, OrderType, SecType } from '@stoqey/ib';
import { eventually, http, type JsonResponse } from './helpers/eventually.js';
import { freshGateway, startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const FINAL = new Set(['Filled', 'Cancelled', 'ApiCancelled', 'Inactive']);
const lmt = (extra: Record<string, unknown> = {}) => ({
  contract: AAPL,
  order: { action: 'BUY', orderType: 'LMT', lmtPrice: 50, totalQuantity: 1, ...extra },
});
const mkt = (qty = 1) => ({ contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: qty } });

interface Timed extends JsonResponse {
  ms: number;
}

/**
 * The order matrix through the proxy, with real worker processes and the simulator: every IB answer ends
 * the wait at once (the HTTP answer comes within 1 s of IB's, not at the 10 s deadline), and after every
 * case the open list, the journal and the simulator's own record agree, and no order id is used twice.
 */
describe('orders – every IB answer handled at once, identity across restarts, retries that converge', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2, workerEnv: { IB_RECONNECT_MIN_MS: '100', IB_RECONNECT_MAX_MS: '400' } });
  });
  after(async () => {
    await stack?.stop();
  });

  const post = async (body: unknown, o: { key?: string; query?: string } = {}): Promise<Timed> => {
    const started = Date.now();
    const headers: Record<string, string> = o.key === undefined ? {} : { 'idempotency-key': o.key };
    const r = await http(`${stack.proxyUrl}/order${o.query ? `?${o.query}` : ''}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers,
    });
    return { ...r, ms: Date.now() - started };
  };
  type Listed = { orderId: number; permId?: number; status: string };
  const openList = async () => (await http(`${stack.proxyUrl}/order`)).body.orders as Listed[];
  const journal = async () => {
    type Event = { cursor: number; type: string; orderId?: number; permId?: number; ibCode?: number; status?: string };
    const out: Event[] = [];
    for (let since = 0; ;) {
      const page = await http(`${stack.proxyUrl}/order/events?since=${since}&limit=1000`);
      assert.equal(page.status, 200);
      if (page.body.events.length === 0) return out;
      out.push(...page.body.events);
      since = page.body.events.at(-1).cursor;
    }
  };
  const simOf = (orderId: number) =>
    stack.sim.control.orders().filter((o) => o.clientId === 0 && o.orderId === orderId);

  /** The open list holds exactly the simulator's working orders of clientId 0 (by permId), nothing IB does not have. */
  const agree = () =>
    eventually(async () => {
      const ours = await openList();
      const sims = stack.sim.control.orders().filter((o) => o.clientId === 0 && !FINAL.has(o.status));
      assert.deepEqual(
        ours.map((o) => o.permId).sort(),
        sims.map((o) => o.permId).sort(),
        'open list = the simulator’s working orders',
      );
      const ids = (await journal()).filter((e) => e.type === 'accepted').map((e) => e.orderId);
      assert.equal(new Set(ids).size, ids.length, `no order id accepted twice: ${ids.join(',')}`);
    }, 5_000);

  const assertRefused = async (r: Timed, status: number, ibCode: number, text: RegExp) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.ibCode, ibCode);
    assert.match(r.body.error.message, text);
    assert.ok(r.ms < 1000, `answered ${r.ms} ms after the request (IB answered at once)`);
    const orderId = r.body.error.details.orderId as number;
    const one = await http(`${stack.proxyUrl}/order/${orderId}`);
    assert.equal(one.status, 200);
    assert.ok(FINAL.has(one.body.status), `GET /order/${orderId} is final: ${one.body.status}`);
    assert.ok(one.body.errors.some((e: { code: number }) => e.code === ibCode));
    assert.ok(!(await openList()).some((o) => o.orderId === orderId), 'not in the open list');
    await eventually(async () => {
      const j = (await journal()).filter((e) => e.orderId === orderId);
      assert.ok(
        j.some((e) => e.type === 'rejected' && e.ibCode === ibCode),
        JSON.stringify(j),
      );
      assert.ok(
        j.some((e) => e.status !== undefined && FINAL.has(e.status)),
        `journal has the final status: ${JSON.stringify(j)}`,
      );
    });
    for (const s of simOf(orderId)) assert.ok(FINAL.has(s.status), `simulator: ${s.status}`);
    await agree();
    return orderId;
  };

  test('unknown contract → 404 CONTRACT_NOT_FOUND, ibCode 200, at once; never open; journal, GET agree', async () => {
    const r = await post({
      contract: { symbol: 'NOSUCHSYM', secType: 'STK', exchange: 'SMART', currency: 'USD' },
      order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 },
    });
    const orderId = await assertRefused(r, 404, 200, /security definition/i);
    assert.equal(simOf(orderId).length, 0, 'the simulator has no such order');
  });

  test('refusals answer at once with IB code and text (201 account, 387 type, 201 after ack, 110, 103)', async () => {
    await assertRefused(await post(lmt({ account: 'U9999999' })), 422, 201, /account/i);
    await assertRefused(
      await post({ contract: AAPL, order: { action: 'BUY', orderType: 'TRAIL', auxPrice: 1, totalQuantity: 1 } }),
      422,
      387,
      /Unsupported order type/,
    );
    stack.sim.control.rejectNext({ code: 201, text: 'Order rejected - reason:Insufficient margin' });
    await assertRefused(await post(mkt()), 422, 201, /margin/);
    stack.sim.control.rejectNext({
      code: 110,
      text: 'The price does not conform to the minimum price variation for this contract.',
      status: 'Inactive',
    });
    await assertRefused(await post(lmt({ lmtPrice: 50.001 })), 422, 110, /minimum price variation/);
    stack.sim.control.rejectNext({ code: 103, text: 'Duplicate order id' });
    await assertRefused(await post(lmt()), 422, 103, /Duplicate order id/);
  });

  test('rejected bracket child → 4xx with its IB code; legs IB took are cancelled, nothing stays open', async () => {
    const r = await post({
      bracket: {
        parent: lmt({ lmtPrice: 40, totalQuantity: 2 }),
        takeProfit: { order: { orderType: 'TRAIL', auxPrice: 5 } },
        stopLoss: { order: { orderType: 'STP', auxPrice: 30 } },
      },
    });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error.ibCode, 387);
    assert.ok(r.ms < 1000);
    assert.equal(r.body.error.details.orders.length, 3);
    const ids = r.body.error.details.orders.map((o: { orderId: number }) => o.orderId);
    await eventually(() => {
      for (const id of ids)
        for (const s of simOf(id)) assert.ok(FINAL.has(s.status), `simulator leg ${id}: ${s.status}`);
    });
    await agree();
  });

  test('a plain array is refused (400), never an implicit bracket; validation lists each offending field', async () => {
    const list = await post([lmt(), lmt()]);
    assert.equal(list.status, 400);
    const bad = await post({
      contract: { secType: 'STK' },
      order: { action: 'HOLD', orderType: 'LMT', totalQuantity: -1 },
    });
    assert.equal(bad.status, 400);
    const fields = bad.body.error.details.fields.map((f: { field: string }) => f.field);
    for (const f of ['body.order.action', 'body.order.totalQuantity'])
      assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
    const shape = await post({ contract: { secType: 'STK' }, order: { orderType: 'LMT' } });
    const named = shape.body.error.details.fields.map((f: { field: string }) => f.field);
    for (const f of [
      'body.contract.symbol',
      'body.contract.exchange',
      'body.order.lmtPrice',
      'body.order.action',
      'body.order.totalQuantity',
    ]) {
      assert.ok(named.includes(f), `${f} in ${named.join(', ')}`);
    }
  });

  test('duplicate statuses and status-before-openOrder: one history entry, one journal event per change', async () => {
    stack.sim.control.orderQuirks({ duplicateStatuses: true });
    stack.sim.control.orderStream({ statusFirst: true });
    try {
      const r = await post(lmt({ lmtPrice: 45 }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const { orderId, permId } = r.body;
      assert.ok(stack.sim.control.fillOrder({ permId }));
      const done = await eventually(async () => {
        const g = await http(`${stack.proxyUrl}/order/${orderId}`);
        assert.equal(g.body.status, 'Filled');
        return g.body;
      });
      const statuses = done.history.map((h: { status: string; filled: number }) => `${h.status}/${h.filled}`);
      assert.equal(new Set(statuses).size, statuses.length, `no duplicate history entries: ${statuses.join(' ')}`);
      await eventually(async () => {
        const j = (await journal()).filter((e) => e.orderId === orderId && e.type === 'status');
        const seen = j.map((e) => e.status);
        assert.equal(seen.filter((s) => s === 'Filled').length, 1, seen.join(' '));
      });
    } finally {
      stack.sim.control.orderStream({});
      stack.sim.control.orderQuirks({ duplicateStatuses: false });
    }
    await agree();
  });

  test('an execDetails fill without a Filled status ends wait=filled at once; partial fills in order', async () => {
    stack.sim.control.orderQuirks({ fillWithoutFilledStatus: true });
    try {
      stack.sim.control.fillNext({ quantities: [3, 7] });
      const r = await post(mkt(10), { query: 'wait=filled' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'Filled');
      assert.equal(r.body.filled, 10);
      assert.ok(r.ms < 1000, `${r.ms} ms`);
      assert.ok(
        r.body.history.some((h: { filled: number }) => h.filled === 3),
        JSON.stringify(r.body.history),
      );
      assert.equal(simOf(r.body.orderId)[0]!.status, 'Filled');
      assert.ok(!(await openList()).some((o) => o.orderId === r.body.orderId));
    } finally {
      stack.sim.control.orderQuirks({ fillWithoutFilledStatus: false });
    }
    await agree();
  });

  test(
    'transmit:false → 201 with the staged order; PUT changes the price, refuses a side change; a cancel ends ' +
      'wait=filled distinctly',
    async () => {
      const staged = await post(lmt({ transmit: false, lmtPrice: 41 }));
      assert.equal(staged.status, 201, JSON.stringify(staged.body));
      assert.equal(staged.body.acknowledged, true);
      const id = staged.body.orderId;
      const side = await http(`${stack.proxyUrl}/order/${id}`, {
        method: 'PUT',
        body: JSON.stringify({ order: { action: 'SELL', orderType: 'MKT' } }),
      });
      assert.equal(side.status, 400);
      const named = side.body.error.details.fields.map((f: { field: string }) => f.field);
      assert.deepEqual(named.sort(), ['body.order.action', 'body.order.orderType']);
      assert.equal(simOf(id)[0]!.action, 'BUY', 'IB kept the side; nothing was sent');
      const price = await http(`${stack.proxyUrl}/order/${id}`, {
        method: 'PUT',
        body: JSON.stringify({ order: { lmtPrice: 42, transmit: true } }),
      });
      assert.equal(price.status, 200, JSON.stringify(price.body));
      await eventually(() => assert.equal(simOf(id)[0]!.lmtPrice, 42));

      const waiting = post(lmt({ lmtPrice: 39 }), { query: 'wait=filled&timeout=8' });
      const live = await eventually(async () => {
        const working = (x: Listed) => x.status === 'Submitted' || x.status === 'PreSubmitted';
        const o = (await openList()).find((x) => x.orderId !== id && working(x));
        assert.ok(o);
        return o;
      });
      const cancel = await http(`${stack.proxyUrl}/order/${live.orderId}`, { method: 'DELETE' });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      const ended = await waiting;
      assert.equal(ended.status, 409, JSON.stringify(ended.body));
      assert.equal(ended.body.error.code, 'ORDER_CANCELLED');
      await http(`${stack.proxyUrl}/order/${id}`, { method: 'DELETE' });
      await agree();
    },
  );

  test('silent IB → 504; the key follows the order: a retry gets 201 once IB acked, never a frozen 504', async () => {
    const key = randomUUID();
    stack.sim.control.orderStream({ silent: true });
    let first: Timed;
    try {
      first = await post(lmt({ lmtPrice: 44 }), { key, query: 'timeout=0.4' });
      assert.equal(first.status, 504, JSON.stringify(first.body));
      assert.equal(first.body.error.details.acknowledged, false);
      assert.ok(
        !(await openList()).some((o) => o.orderId === first.body.error.details.orderId),
        'a silent order is not listed',
      );
      const again = await post(lmt({ lmtPrice: 44 }), { key, query: 'timeout=0.3' });
      assert.equal(again.status, 504, 'still silent: still 504');
    } finally {
      stack.sim.control.orderStream({});
    }
    const retry = await post(lmt({ lmtPrice: 44 }), { key });
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.orderId, first.body.error.details.orderId);
    const ref = stack.sim.control.orders().find((o) => o.orderId === retry.body.orderId)!.orderRef;
    assert.equal(stack.sim.control.orders().filter((o) => o.orderRef === ref).length, 1, 'one order at IB for the key');

    // Silent, then IB refuses: the retry gets the refusal, not the 504.
    const key2 = randomUUID();
    stack.sim.control.orderStream({ silent: true });
    stack.sim.control.rejectNext({ code: 201, text: 'Order rejected - reason:Late refusal' });
    try {
      const s = await post(mkt(), { key: key2, query: 'timeout=0.3' });
      assert.equal(s.status, 504);
    } finally {
      stack.sim.control.orderStream({});
    }
    const refused = await eventually(async () => {
      const x = await post(mkt(), { key: key2 });
      assert.equal(x.status, 422, JSON.stringify(x.body));
      return x;
    });
    assert.equal(refused.body.error.ibCode, 201);
    await http(`${stack.proxyUrl}/order/${retry.body.orderId}`, { method: 'DELETE' });
    await agree();
  });

  test('gateway restart with fresh ids: old orders leave the open list, new ids stay above every used id', async () => {
    const placed: Array<{ orderId: number; permId: number }> = [];
    for (let i = 0; i < 3; i++) placed.push((await post(lmt({ lmtPrice: 30 + i }))).body);
    const highest = Math.max(...(await journal()).filter((e) => e.orderId !== undefined).map((e) => e.orderId!));
    // IB never reuses a permId: the fresh gateway starts its permIds elsewhere (another seed).
    await freshGateway(stack, { seed: 101 });
    assert.equal(stack.sim.control.orders().length, 0);
    const r = await eventually(async () => {
      const x = await post(lmt({ lmtPrice: 33 }));
      assert.equal(x.status, 201, JSON.stringify(x.body));
      return x;
    }, 20_000);
    assert.ok(r.body.orderId > highest, `new id ${r.body.orderId} > highest used ${highest}`);
    assert.equal(simOf(r.body.orderId).length, 1);
    await eventually(async () => {
      const open = await openList();
      for (const p of placed)
        assert.ok(!open.some((o) => o.permId === p.permId), 'orders the fresh gateway does not have are not open');
      const old = await http(`${stack.proxyUrl}/order/perm/${placed[0].permId}`);
      assert.equal(old.body.status, 'Inactive');
    }, 10_000);
    await agree();
  });

  test('TWS resets the API order id sequence: new ids stay above every used id, earlier orders work', async () => {
    const resting = (await post(lmt({ lmtPrice: 34 }))).body;
    const highest = Math.max(...(await journal()).filter((e) => e.orderId !== undefined).map((e) => e.orderId!));
    await stack.sim.control.restart({ downMs: 300, freshIds: true });
    assert.ok(stack.sim.control.nextValidId(0) <= highest, 'the gateway now offers ids already used');
    const r = await eventually(async () => {
      const x = await post(lmt({ lmtPrice: 33 }));
      assert.equal(x.status, 201, JSON.stringify(x.body));
      return x;
    }, 20_000);
    assert.ok(r.body.orderId > highest, `new id ${r.body.orderId} > highest used ${highest}`);
    await eventually(async () => assert.ok((await openList()).some((o) => o.permId === resting.permId)));
    await agree();
  });

  test(
    'worker 0 killed and restarted, then the gateway restarted: orders answer 201 with fresh ids, events land on ' +
      'the right order',
    async () => {
      const before = (await post(lmt({ lmtPrice: 35 }))).body;
      await stack.workers[0]!.kill();
      await stack.workers[0]!.restart();
      const afterWorker = await eventually(async () => {
        const x = await post(lmt({ lmtPrice: 36 }));
        assert.equal(x.status, 201, JSON.stringify(x.body));
        return x.body;
      }, 20_000);
      assert.ok(afterWorker.orderId > before.orderId, `${afterWorker.orderId} > ${before.orderId}`);
      await freshGateway(stack, { seed: 202 });
      const afterGateway = await eventually(async () => {
        const x = await post(lmt({ lmtPrice: 37 }));
        assert.equal(x.status, 201, JSON.stringify(x.body));
        return x;
      }, 20_000);
      assert.ok(afterGateway.ms < 2000, `answered in ${afterGateway.ms} ms, not at the deadline`);
      assert.ok(afterGateway.body.orderId > afterWorker.orderId);
      const cancelled = await http(`${stack.proxyUrl}/order/${afterGateway.body.orderId}`, { method: 'DELETE' });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      await eventually(async () => {
        const j = (await journal()).filter((e) => e.type === 'cancelled' && e.permId === afterGateway.body.permId);
        assert.equal(j.length, 1);
        assert.equal(
          j[0]!.orderId,
          afterGateway.body.orderId,
          'the cancel is journalled under the new order, not an older one with the same id',
        );
      });
      await agree();
    },
  );

  test('kill -9 of worker 0 after a 504: a same-key retry gets 201 with the order IB took, placed once', async () => {
    const key = randomUUID();
    stack.sim.control.orderStream({ silent: true });
    let first: Timed;
    try {
      first = await post(lmt({ lmtPrice: 38 }), { key, query: 'timeout=0.3' });
      assert.equal(first.status, 504);
      await stack.workers[0]!.kill();
    } finally {
      stack.sim.control.orderStream({});
    }
    await stack.workers[0]!.restart();
    const retry = await eventually(async () => {
      const x = await post(lmt({ lmtPrice: 38 }), { key });
      assert.equal(x.status, 201, JSON.stringify(x.body));
      return x;
    }, 20_000);
    assert.equal(retry.body.orderId, first.body.error.details.orderId);
    const ref = stack.sim.control.orders().find((o) => o.orderId === retry.body.orderId)!.orderRef;
    assert.equal(stack.sim.control.orders().filter((o) => o.orderRef === ref).length, 1, 'placed once');
    await agree();
  });

  test('identity: /order/perm/{permId} reads any order, other clients’ too; unknown permId → 404', async () => {
    const mine = (await post(lmt({ lmtPrice: 31 }))).body;
    const byPerm = await http(`${stack.proxyUrl}/order/perm/${mine.permId}`);
    assert.equal(byPerm.status, 200);
    assert.equal(byPerm.body.orderId, mine.orderId);
    assert.equal(byPerm.body.clientId, 0);
    const del = await http(`${stack.proxyUrl}/order/perm/${mine.permId}`, { method: 'DELETE' });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const none = await http(`${stack.proxyUrl}/order/perm/999999999`);
    assert.equal(none.status, 404);
    // Another API client's order (clientId 11 on its own IB connection): worker 0, the master client, sees it.
    const api = new IBApi({ host: '127.0.0.1', port: stack.sim.port });
    const otherId = await new Promise<number>((resolve) => {
      api.once(EventName.nextValidId, (id: number) => resolve(id));
      api.connect(11);
    });
    try {
      const contract = { symbol: 'AAPL', secType: SecType.STK, exchange: 'SMART', currency: 'USD' };
      const order = { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 32, totalQuantity: 1 };
      api.placeOrder(otherId, contract, order);
      const theirs = await eventually(() => {
        const o = stack.sim.control.orders().find((x) => x.clientId === 11 && x.orderId === otherId);
        assert.ok(o && o.permId > 0);
        return o;
      });
      const seen = await eventually(async () => {
        const g = await http(`${stack.proxyUrl}/order/perm/${theirs.permId}`);
        assert.equal(g.status, 200);
        return g.body;
      });
      assert.equal(seen.clientId, 11);
      assert.equal(seen.orderId, otherId);
      const notMine = await http(`${stack.proxyUrl}/order/perm/${theirs.permId}`, { method: 'DELETE' });
      assert.equal(notMine.status, 409);
      assert.equal(notMine.body.error.code, 'ORDER_NOT_OWN');
      api.cancelOrder(otherId);
    } finally {
      api.disconnect();
    }
  });
});
