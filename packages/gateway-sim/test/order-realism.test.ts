import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim, type RunningGatewaySim } from '../src/index.js';
import { AAPL, connectApi, EventName, nextEvent, waitUntil, type IBApiT, type SeenError } from './helpers.js';

type Client = { api: IBApiT; errors: SeenError[] };

/** Every ORDER_STATUS a client hears, as `orderId:status`, and every execution's orderId. */
function record(api: IBApiT): { statuses: string[]; execs: number[]; opens: string[]; commissions: number } {
  const r = { statuses: [] as string[], execs: [] as number[], opens: [] as string[], commissions: 0 };
  api.on(EventName.orderStatus, (id: number, status: string) => r.statuses.push(`${id}:${status}`));
  api.on(EventName.execDetails, (_r: number, _c: unknown, ex: { orderId: number }) => r.execs.push(ex.orderId));
  api.on(EventName.openOrder, (id: number, _c: unknown, _o: unknown, st: { status: string }) => {
    r.opens.push(`${id}:${st.status}`);
  });
  api.on(EventName.commissionReport, () => {
    r.commissions++;
  });
  return r;
}

async function errorFor(c: Client, code: number, reqId: number): Promise<string> {
  await waitUntil(() => c.errors.some((e) => e.code === code && e.reqId === reqId), 3000, `error ${code} for ${reqId}`);
  return c.errors.find((e) => e.code === code && e.reqId === reqId)!.message;
}

/** A round trip: everything the simulator sent before it has been read. */
async function sync(api: IBApiT): Promise<void> {
  const t = nextEvent(api, EventName.currentTime);
  api.reqCurrentTime();
  await t;
}

const lmt = (action: string, lmtPrice: number, totalQuantity = 1): never =>
  ({ action, orderType: 'LMT', lmtPrice, totalQuantity, transmit: true }) as never;
const mkt = (action: string, totalQuantity = 1): never =>
  ({ action, orderType: 'MKT', totalQuantity, transmit: true }) as never;
const statusOf = (gw: RunningGatewaySim, orderId: number): string | undefined =>
  gw.control.orders().find((o) => o.orderId === orderId)?.status;

describe('order realism', () => {
  let gw: RunningGatewaySim;
  let c0: Client;

  before(async () => {
    gw = await startGatewaySim({ port: 0, tickIntervalMs: 0, controlPort: 0 });
    gw.control.setPrice('AAPL', 200);
    c0 = await connectApi(gw.port, 0);
  });
  after(async () => {
    c0.api.disconnect();
    await gw.close();
  });

  it('duplicate statuses: every ORDER_STATUS arrives twice while the quirk is on', async () => {
    const r = record(c0.api);
    gw.control.orderQuirks({ duplicateStatuses: true });
    const id = gw.control.nextValidId(0);
    c0.api.placeOrder(id, AAPL, lmt('BUY', 150));
    await waitUntil(() => r.statuses.filter((s) => s === `${id}:Submitted`).length === 2, 3000, 'two Submitted');
    c0.api.cancelOrder(id, {} as never);
    await waitUntil(() => r.statuses.filter((s) => s === `${id}:Cancelled`).length === 2, 3000, 'two Cancelled');
    gw.control.orderQuirks({ duplicateStatuses: false });
    assert.deepEqual(
      r.statuses.filter((s) => s.startsWith(`${id}:`)),
      [`${id}:Submitted`, `${id}:Submitted`, `${id}:Cancelled`, `${id}:Cancelled`],
    );
  });

  it('fill without Filled: a market order is reported by execDetails and OPEN_ORDER, no Filled status', async () => {
    const r = record(c0.api);
    gw.control.orderQuirks({ fillWithoutFilledStatus: true });
    const id = gw.control.nextValidId(0);
    c0.api.placeOrder(id, AAPL, mkt('BUY', 2));
    await waitUntil(() => r.commissions === 1, 3000, 'commission report');
    await sync(c0.api);
    gw.control.orderQuirks({ fillWithoutFilledStatus: false });
    assert.deepEqual(r.execs, [id]);
    assert.ok(!r.statuses.includes(`${id}:Filled`), r.statuses.join());
    assert.ok(r.opens.includes(`${id}:Filled`));
    assert.equal(gw.control.orders().find((o) => o.orderId === id)?.status, 'Filled');
  });

  it('skip Submitted: a transmitted order gets OPEN_ORDER but no Submitted ORDER_STATUS', async () => {
    const r = record(c0.api);
    gw.control.orderQuirks({ skipSubmittedStatus: true });
    const id = gw.control.nextValidId(0);
    c0.api.placeOrder(id, AAPL, lmt('BUY', 150));
    await waitUntil(() => r.opens.includes(`${id}:Submitted`), 3000, 'open order');
    await sync(c0.api);
    gw.control.orderQuirks({ skipSubmittedStatus: false });
    assert.deepEqual(
      r.statuses.filter((s) => s.startsWith(`${id}:`)),
      [],
    );
    c0.api.cancelOrder(id, {} as never);
    await waitUntil(() => r.statuses.includes(`${id}:Cancelled`), 3000, 'cancelled');
  });

  it('order ids only increase: an id below one already used is refused with 103 and nothing is created', async () => {
    const id = gw.control.nextValidId(0) + 5;
    c0.api.placeOrder(id, AAPL, lmt('BUY', 150));
    await waitUntil(() => gw.control.orders().some((o) => o.orderId === id), 3000, 'order');
    const before = gw.control.orders().length;
    c0.api.placeOrder(id - 2, AAPL, lmt('BUY', 150));
    assert.equal(await errorFor(c0, 103, id - 2), 'Duplicate order id');
    assert.equal(gw.control.orders().length, before);
    assert.equal(gw.control.nextValidId(0), id + 1);
    c0.api.cancelOrder(id, {} as never);
    await waitUntil(() => gw.control.orders().find((o) => o.orderId === id)?.status === 'Cancelled', 3000, 'cancel');
  });

  it('limit orders fill only at or better than the limit, forced fills included', async () => {
    gw.control.setPrice('AAPL', 200);
    const ask = gw.control.quote('AAPL')!.ask;
    const id = gw.control.nextValidId(0);
    c0.api.placeOrder(id, AAPL, lmt('BUY', 195));
    await waitUntil(() => gw.control.orders().find((o) => o.orderId === id)?.status === 'Submitted', 3000, 'resting');
    assert.ok(ask > 195);
    assert.equal(gw.control.fillOrder({ orderId: id, clientId: 0 }, 1, 201), true);
    const o = gw.control.orders().find((x) => x.orderId === id)!;
    assert.equal(o.status, 'Filled');
    assert.equal(o.avgFillPrice, 195);
    // The market moving through the limit fills at the market, which is better.
    const id2 = gw.control.nextValidId(0);
    c0.api.placeOrder(id2, AAPL, lmt('SELL', 205));
    await waitUntil(() => statusOf(gw, id2) === 'Submitted', 3000, 'resting sell');
    gw.control.setPrice('AAPL', 210);
    await waitUntil(() => statusOf(gw, id2) === 'Filled', 3000, 'sell filled');
    assert.ok(gw.control.orders().find((x) => x.orderId === id2)!.avgFillPrice >= 205);
  });

  it("a price off the contract's tick is refused with 110 (limit and stop prices)", async () => {
    const id = gw.control.nextValidId(0);
    c0.api.placeOrder(id, AAPL, lmt('BUY', 150.005));
    assert.equal(
      await errorFor(c0, 110, id),
      'The price does not conform to the minimum price variation for this contract.',
    );
    const id2 = id + 1;
    const stop = { action: 'SELL', orderType: 'STP', auxPrice: 99.991, totalQuantity: 1, transmit: true };
    c0.api.placeOrder(id2, AAPL, stop as never);
    await errorFor(c0, 110, id2);
    assert.ok(!gw.control.orders().some((o) => o.orderId === id || o.orderId === id2));
  });

  it('a restart forgets finished orders (cancel → 10147); freshIds restarts the sequence at 1', async () => {
    const filled = gw.control.orders().find((o) => o.status === 'Filled' && o.clientId === 0)!;
    const nextBefore = gw.control.nextValidId(0);
    c0.api.disconnect();
    await gw.control.restart({ downMs: 20 });
    c0 = await connectApi(gw.port, 0);
    assert.equal(gw.control.nextValidId(0), nextBefore, 'ids survive a restart');
    c0.api.cancelOrder(filled.orderId, {} as never);
    assert.equal(
      await errorFor(c0, 10147, filled.orderId),
      `OrderId ${filled.orderId} that needs to be cancelled is not found.`,
    );

    // An order still working across a fresh id sequence keeps working, but its id now names nothing.
    const working = gw.control.nextValidId(0);
    c0.api.placeOrder(working, AAPL, lmt('BUY', 100));
    await waitUntil(() => statusOf(gw, working) === 'Submitted', 3000, 'working');
    c0.api.disconnect();
    const res = await fetch(`http://127.0.0.1:${gw.controlPort}/restart`, {
      method: 'POST',
      body: JSON.stringify({ downMs: 20, freshIds: true }),
    });
    assert.equal(res.status, 200);
    const ids = nextEventOnConnect(gw.port);
    c0 = await ids.client;
    assert.equal(await ids.firstId, 1);
    c0.api.cancelOrder(working, {} as never);
    await errorFor(c0, 10147, working);
    assert.equal(gw.control.orders().find((o) => o.orderId === working && o.status === 'Submitted')?.clientId, 0);
  });
});

/** Connects client 0 and captures the first NEXT_VALID_ID it is given. */
function nextEventOnConnect(port: number): { client: Promise<Client>; firstId: Promise<number> } {
  let resolveId!: (n: number) => void;
  const firstId = new Promise<number>((r) => {
    resolveId = r;
  });
  const client = connectApi(port, 0, 1000, (api) => api.once(EventName.nextValidId, (id: number) => resolveId(id)));
  return { client, firstId };
}

describe('Master API client ID', () => {
  let gw: RunningGatewaySim;
  const clients: Client[] = [];

  before(async () => {
    gw = await startGatewaySim({ port: 0, tickIntervalMs: 0, masterClientId: 3 });
    gw.control.setPrice('AAPL', 200);
  });
  after(async () => {
    for (const c of clients) c.api.disconnect();
    await gw.close();
  });

  it("the master client hears every client's statuses, executions and commissions; others their own", async () => {
    const [c1, c2, c3, c0] = await Promise.all([1, 2, 3, 0].map((id) => connectApi(gw.port, id)));
    clients.push(c1!, c2!, c3!, c0!);
    const [r1, r2, r3, r0] = [c1!, c2!, c3!, c0!].map((c) => record(c.api));
    c1!.api.placeOrder(1, AAPL, mkt('BUY', 3));
    await waitUntil(() => r3!.commissions === 1 && r1!.commissions === 1, 3000, 'commissions at 1 and 3');
    await Promise.all([c0!, c2!].map((c) => sync(c.api)));
    assert.deepEqual(r3!.execs, [1]);
    assert.ok(r3!.statuses.includes('1:Filled'));
    assert.deepEqual([r0!.execs, r0!.statuses, r0!.commissions], [[], [], 0], 'client 0 is not the master here');
    assert.deepEqual([r2!.execs, r2!.statuses], [[], []]);

    // reqOpenOrders: the master lists every client's working orders, a non-master only its own.
    c1!.api.placeOrder(2, AAPL, lmt('BUY', 150));
    await waitUntil(() => r3!.statuses.includes('2:Submitted'), 3000, 'master sees the new order');
    const listed = async (c: Client): Promise<number[]> => {
      const ids: number[] = [];
      const h = (id: number): void => {
        ids.push(id);
      };
      c.api.on(EventName.openOrder, h);
      const end = nextEvent(c.api, EventName.openOrderEnd);
      c.api.reqOpenOrders();
      await end;
      c.api.off(EventName.openOrder, h);
      return ids;
    };
    assert.deepEqual(await listed(c3!), [2]);
    assert.deepEqual(await listed(c2!), []);
    assert.deepEqual(await listed(c0!), []);

    // reqExecutions: the master gets every execution and its commission report.
    const execs = async (c: Client): Promise<number> => {
      let n = 0;
      const h = (): void => {
        n++;
      };
      c.api.on(EventName.execDetails, h);
      const end = nextEvent(c.api, EventName.execDetailsEnd);
      c.api.reqExecutions(9, {} as never);
      await end;
      c.api.off(EventName.execDetails, h);
      return n;
    };
    assert.equal(await execs(c3!), 1);
    assert.equal(await execs(c0!), 0);
  });

  it('the setting changes at run time', () => {
    gw.control.setMasterClientId(0);
    assert.equal(gw.control.masterClientId(), 0);
    assert.throws(() => gw.control.setMasterClientId(1.5), /integer client id/);
  });
});

describe('order ids persist in the state directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-sim-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a new simulator on the same directory continues the sequence and refuses lower ids with 103', async () => {
    const gw1 = await startGatewaySim({ port: 0, tickIntervalMs: 0, stateDir: dir });
    const a = await connectApi(gw1.port, 0);
    a.api.placeOrder(40, AAPL, mkt('BUY', 1));
    await waitUntil(() => gw1.control.orders().some((o) => o.orderId === 40 && o.status === 'Filled'), 3000, 'fill');
    const permId = gw1.control.orders()[0]!.permId;
    const execId = gw1.control.executions()[0]!.execId;
    a.api.disconnect();
    await gw1.close();

    const gw2 = await startGatewaySim({ port: 0, tickIntervalMs: 0, stateDir: dir });
    const first = nextEventOnConnect(gw2.port);
    const b = await first.client;
    try {
      assert.equal(await first.firstId, 41);
      b.api.placeOrder(12, AAPL, mkt('BUY', 1));
      assert.equal(await errorFor(b, 103, 12), 'Duplicate order id');
      b.api.placeOrder(41, AAPL, mkt('BUY', 1));
      await waitUntil(() => statusOf(gw2, 41) === 'Filled', 3000, 'fill 41');
      assert.ok(gw2.control.orders()[0]!.permId > permId, 'permIds keep increasing');
      assert.notEqual(gw2.control.executions()[0]!.execId, execId, 'execIds are not reused');
    } finally {
      b.api.disconnect();
      await gw2.close();
    }
  });
});

describe('session profiles', () => {
  it('realistic: inactive farms at start (2108/2107), farm flaps and link blips on their schedules', async () => {
    const gw = await startGatewaySim({ port: 0, tickIntervalMs: 0, session: 'realistic', controlPort: 0 });
    const { api, infos } = await connectApi(gw.port, 0);
    try {
      await waitUntil(() => infos.length >= 6, 2000, 'startup notices');
      assert.deepEqual(
        infos.slice(0, 6).map((i) => [i.code, i.message]),
        [
          [2104, 'Market data farm connection is OK:usfarm'],
          [2108, 'Market data farm connection is inactive but should be available upon demand.usopt'],
          [2108, 'Market data farm connection is inactive but should be available upon demand.cashfarm'],
          [2106, 'HMDS data farm connection is OK:ushmds'],
          [2107, 'HMDS data farm connection is inactive but should be available upon demand.euhmds'],
          [2158, 'Sec-def data farm connection is OK:secdefil'],
        ],
      );
      assert.deepEqual(gw.control.orderQuirks(), {
        duplicateStatuses: true,
        fillWithoutFilledStatus: true,
        skipSubmittedStatus: false,
      });
      // Faster schedules through HTTP, as a test would script them.
      const profile = {
        ...gw.control.session(),
        farmFlaps: { everyMs: 40, downMs: 10 },
        linkBlips: { everyMs: 150, downMs: 20, restore: 1102 },
      };
      const res = await fetch(`http://127.0.0.1:${gw.controlPort}/session`, {
        method: 'POST',
        body: JSON.stringify(profile),
      });
      assert.equal(res.status, 200);
      const codes = (): number[] => infos.slice(6).map((i) => i.code);
      const expected = [2103, 2104, 2105, 2106, 2157, 2158, 1100, 1102];
      await waitUntil(() => expected.every((c) => codes().includes(c)), 3000, 'flaps and blips');
      // Each broken farm comes back; flaps go round the farms that are up.
      const texts = infos.slice(6).map((i) => i.message);
      assert.ok(texts.includes('Market data farm connection is broken:usfarm'));
      assert.ok(texts.includes('HMDS data farm connection is broken:ushmds'));
      assert.ok(texts.includes('Sec-def data farm connection is broken:secdefil'));
      assert.ok(codes().indexOf(1100) < codes().indexOf(1102));
      gw.control.setSession('clean');
      assert.deepEqual(gw.control.orderQuirks(), {
        duplicateStatuses: false,
        fillWithoutFilledStatus: false,
        skipSubmittedStatus: false,
      });
      const bad = { farms: [{ name: 'x', kind: 'secdef', inactive: true }] };
      assert.throws(() => gw.control.setSession(bad as never), /no inactive state/);
    } finally {
      api.disconnect();
      await gw.close();
    }
  });

  it('a nightly restart time is the next HH:MM in UTC', async () => {
    const { msUntilUtc } = await import('../src/session-profile.js');
    const now = Date.UTC(2026, 11, 1, 21, 30);
    assert.equal(msUntilUtc('21:45', now), 15 * 60_000);
    assert.equal(msUntilUtc('05:00', now), (7 * 60 + 30) * 60_000);
    const bad = { farms: [], nightlyRestart: { at: '25:00', downMs: 1 } };
    await assert.rejects(startGatewaySim({ session: bad as never }), /HH:MM/);
  });
});

describe('order controls over HTTP', () => {
  it('quirks, Master API client ID, id sequence, forgetting orders and next valid ids', async () => {
    const gw = await startGatewaySim({ port: 0, tickIntervalMs: 0, controlPort: 0 });
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const init = { method, body: body === undefined ? undefined : JSON.stringify(body) };
      const res = await fetch(`http://127.0.0.1:${gw.controlPort}${path}`, init);
      return { status: res.status, json: await res.json() };
    };
    const c = await connectApi(gw.port, 0);
    try {
      assert.deepEqual((await call('POST', '/orders/quirks', { duplicateStatuses: true })).json, {
        duplicateStatuses: true,
        fillWithoutFilledStatus: false,
        skipSubmittedStatus: false,
      });
      assert.equal((await call('POST', '/orders/quirks', { duplicates: true })).status, 400);
      assert.equal((await call('POST', '/orders/quirks', { duplicateStatuses: 'yes' })).status, 400);
      assert.deepEqual((await call('GET', '/orders/quirks')).json.duplicateStatuses, true);
      assert.equal((await call('POST', '/master-client-id', { clientId: 4 })).status, 200);
      assert.deepEqual((await call('GET', '/master-client-id')).json, { clientId: 4 });
      assert.equal((await call('POST', '/master-client-id', { clientId: 'x' })).status, 400);

      c.api.placeOrder(5, AAPL, mkt('BUY', 1));
      await waitUntil(() => gw.control.orders().some((o) => o.status === 'Filled'), 3000, 'fill');
      assert.deepEqual((await call('GET', '/next-valid-id/0')).json, { orderId: 6 });
      assert.deepEqual((await call('POST', '/orders/forget', {})).json, { forgotten: 1 });
      c.api.cancelOrder(5, {} as never);
      await errorFor(c, 10147, 5);
      assert.equal((await call('POST', '/orders/reset-ids')).status, 200);
      assert.deepEqual((await call('GET', '/next-valid-id/0')).json, { orderId: 1 });
      c.api.placeOrder(1, AAPL, lmt('BUY', 100));
      await waitUntil(() => statusOf(gw, 1) === 'Submitted', 3000, 'id 1 accepted again');
    } finally {
      c.api.disconnect();
      await gw.close();
    }
  });
});
