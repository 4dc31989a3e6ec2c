import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from './helpers/eventually.js';
import {
  AAPL,
  classify,
  metricSum,
  mktOrder,
  NO_WINDOWS,
  openSse,
  percentile,
  poolFullyUp,
  printFigures,
  rawRequest,
  runLanes,
  SYMBOLS,
  Tally,
  timeUntil,
} from './helpers/faults-kit.js';
import { startStack, type Stack } from './helpers/stack.js';

const WORKERS = 4;
const DOWN_MS = 3_000;
const REQ_MKT_DATA = 'REQ_MKT_DATA';
const REQ_PNL = 'REQ_PNL';

interface JournalEvent {
  cursor: number;
  type: string;
  execId?: string;
  reconciled?: boolean;
  orderId?: number;
  permId?: number;
}

/**
 * The fault suite, part 1: what the gateway does to us. IB's nightly restart under steady load, a
 * connectivity loss that loses data (1100 → 1101) under live subscriptions, and clientIds left stuck
 * (326) across a restart. One stack of four real workers and the real proxy; tests run in order and
 * each leaves every worker ready (the 326 test runs last: a worker that moved to a spare clientId stays there).
 */
describe('faults – the gateway restarts, loses data, keeps clientIds', () => {
  let stack: Stack;
  const json = { 'content-type': 'application/json' };
  const post = (path: string, body: unknown, timeoutMs = 15_000) =>
    rawRequest(stack.proxyUrl, { method: 'POST', path, headers: json, body: JSON.stringify(body), timeoutMs });
  const get = (path: string, timeoutMs = 15_000) => rawRequest(stack.proxyUrl, { path, timeoutMs });

  /** Every event of worker 0's durable journal. */
  async function journal(): Promise<JournalEvent[]> {
    const out: JournalEvent[] = [];
    for (let since = 0; ;) {
      const page = await get(`/order/events?since=${since}&limit=1000`);
      assert.equal(page.status, 200, page.text);
      const events = page.json.events as JournalEvent[];
      if (events.length === 0) return out;
      out.push(...events);
      since = page.json.nextCursor;
    }
  }

  before(async () => {
    stack = await startStack({
      workers: WORKERS,
      workerEnv: {
        ...NO_WINDOWS,
        IB_RECONNECT_MAX_MS: '2000',
        IB_SPARE_CLIENT_IDS: '9',
        IB_CLIENT_ID_FALLBACK_AFTER: '2',
      },
      proxyEnv: NO_WINDOWS,
    });
  });
  after(async () => {
    await stack?.stop();
  });

  test('gateway restart under steady load: only 2xx or 503 + Retry-After, ready again, fills lost = 0', async () => {
    const { sim } = stack;
    // Resting orders that the gateway fills while every connection is down: the fills must not vanish.
    const resting: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post('/order', {
        contract: AAPL,
        order: { action: 'BUY', orderType: 'LMT', lmtPrice: 50 + i, totalQuantity: 2 },
      });
      assert.equal(r.status, 201, r.text);
      resting.push(r.json.permId);
    }

    const reads = new Tally();
    const orders = new Tally();
    const latencies: number[] = [];
    let stop = false;
    const readPaths = (i: number) => {
      const symbol = SYMBOLS[i % SYMBOLS.length];
      return [
        `/account/positions`,
        `/contract?symbol=${symbol}`,
        `/executions`,
        `/account/summary?tags=NetLiquidation`,
      ][i % 4]!;
    };
    const load = Promise.all([
      runLanes(
        3,
        async (lane, i) => {
          const started = Date.now();
          try {
            const r = await get(readPaths(lane + i), 15_000);
            reads.add(classify(r), `${r.status} ${r.text.slice(0, 200)}`);
            if (r.status === 200) latencies.push(Date.now() - started);
          } catch (err) {
            reads.add('network', (err as Error).message);
          }
        },
        { stop: () => stop, maxIterations: 20_000, pauseMs: 10 },
      ),
      runLanes(
        1,
        async () => {
          try {
            const r = await post('/order', mktOrder(1), 15_000);
            orders.add(classify(r), `${r.status} ${r.text.slice(0, 200)}`);
          } catch (err) {
            orders.add('network', (err as Error).message);
          }
        },
        { stop: () => stop, maxIterations: 2_000, pauseMs: 100 },
      ),
    ]);

    try {
      await timeUntil(() => reads.get('ok') >= 20 && orders.get('ok') >= 3, 10_000, 'steady state before the restart');
      const restartAt = Date.now();
      const restarted = sim.control.restart({ downMs: DOWN_MS });
      await timeUntil(() => sim.control.connections().length === 0, 5_000, 'all connections dropped');
      for (const permId of resting)
        assert.ok(sim.control.fillOrder({ permId }), `the simulator filled ${permId} during the outage`);
      await restarted;
      const gatewayBackMs = Date.now() - restartAt;
      await timeUntil(() => poolFullyUp(stack.proxyUrl, WORKERS), 30_000, 'pool fully up after the restart', 50);
      const readyMs = Date.now() - restartAt;
      const okBefore = { reads: reads.get('ok'), orders: orders.get('ok') };
      await timeUntil(
        () => reads.get('ok') > okBefore.reads + 20 && orders.get('ok') > okBefore.orders + 3,
        10_000,
        'steady state after the restart',
      );
      stop = true;
      await load;

      assert.ok(reads.get('503') > 0, 'the outage was visible as 503 + Retry-After');
      const others = (t: Tally) => Object.entries(t.counts).filter(([k]) => k !== 'ok' && k !== '503');
      assert.deepEqual(
        others(reads),
        [],
        `reads: nothing but 2xx and 503 + Retry-After (${JSON.stringify(reads.examples)})`,
      );
      assert.deepEqual(
        others(orders),
        [],
        `orders: nothing but 2xx and 503 + Retry-After (${JSON.stringify(orders.examples)})`,
      );

      // Every execution the simulator made for orders of worker 0 reaches its journal and its mirror.
      const simExecIds = sim.control
        .executions()
        .filter((e) => e.clientId === 0)
        .map((e) => e.execId);
      const outageExecIds = sim.control
        .executions()
        .filter((e) => resting.includes(e.permId))
        .map((e) => e.execId);
      assert.equal(outageExecIds.length, resting.length, 'one execution per resting order filled during the outage');
      let fills: JournalEvent[] = [];
      await eventually(
        async () => {
          fills = (await journal()).filter((e) => e.type === 'fill');
          const journalled = new Set(fills.map((e) => e.execId));
          const missing = simExecIds.filter((id) => !journalled.has(id));
          assert.deepEqual(missing, [], 'every simulator execution is in the order journal');
        },
        15_000,
        200,
      );
      const mirrored = await rawRequest(stack.workers[0]!.url, { path: '/executions', headers: stack.workerHeaders });
      assert.equal(mirrored.status, 200);
      const mirrorIds = new Set(
        (mirrored.json.executions as Array<{ execution: { execId: string } }>).map((e) => e.execution.execId),
      );
      const lostFromMirror = simExecIds.filter((id) => !mirrorIds.has(id));
      assert.deepEqual(lostFromMirror, [], 'every simulator execution is in worker 0’s executions');
      const reconciledOutageFills = fills.filter(
        (e) => e.reconciled === true && outageExecIds.includes(e.execId!),
      ).length;
      assert.equal(
        reconciledOutageFills,
        resting.length,
        'the outage fills were recovered by reconciliation (reconciled: true)',
      );
      const w0metrics = (await rawRequest(stack.workers[0]!.url, { path: '/metrics' })).text;

      printFigures('gateway-restart', {
        workers: WORKERS,
        downMs: DOWN_MS,
        reconnectBackoff: '500 ms doubling, cap 2000 ms',
        gatewayBackMs,
        readyAgainMs: readyMs,
        readyAfterGatewayBackMs: readyMs - gatewayBackMs,
        reads: reads.counts,
        orders: orders.counts,
        outage503WindowMs: (reads.last['503'] ?? 0) - (reads.first['503'] ?? 0),
        readLatencyMsP50: percentile(latencies, 50),
        readLatencyMsP99: percentile(latencies, 99),
        simExecutions: simExecIds.length,
        fillsDuringOutage: outageExecIds.length,
        fillsLost: simExecIds.length - simExecIds.filter((id) => fills.some((f) => f.execId === id)).length,
        reconciledFillEvents: fills.filter((e) => e.reconciled === true).length,
        reconciledEventsMetric: metricSum(w0metrics, 'ibworker_reconciled_events_total'),
      });
    } finally {
      stop = true;
      await load;
    }
  });

  test('1100 → 1101 with live subscriptions: streams and PnL re-established at IB, reads resume', async () => {
    const { sim } = stack;
    const sent: Array<{ name: string; at: number; snapshot: boolean }> = [];
    const onMessage = (m: { name: string; fields: string[] }) => {
      // REQ_MKT_DATA fields end with …, genericTickList, snapshot, regulatorySnapshot, options: a streaming
      // request has snapshot 0.
      if (m.name === REQ_MKT_DATA || m.name === REQ_PNL)
        sent.push({ name: m.name, at: Date.now(), snapshot: m.name === REQ_MKT_DATA && m.fields.at(-3) === '1' });
    };
    sim.control.events.on('message', onMessage);
    const stream = await openSse(stack.proxyUrl, `/market/data?symbol=AAPL&secType=STK&exchange=SMART&currency=USD`);
    try {
      assert.equal(stream.status, 200);
      await stream.waitFor((e) => e.event === 'tick', 10_000);
      const pnl = await get('/account/pnl');
      assert.equal(pnl.status, 200, pnl.text);
      const streamsBefore = sim.control.activeSubscriptions();
      assert.ok(
        streamsBefore.marketData >= 1 && streamsBefore.pnl >= 1,
        `live at IB before: ${JSON.stringify(streamsBefore)}`,
      );

      const lostAt = Date.now();
      sim.control.sendNotice(1100);
      const degraded = await stream.waitFor((e) => e.event === 'status' && e.data?.state === 'degraded', 5_000);
      const outage = await eventually(
        async () => {
          const r = await get('/contract?symbol=AAPL&secType=STK&exchange=SMART&currency=USD');
          assert.equal(r.status, 503);
          return r;
        },
        5_000,
        20,
      );
      assert.ok(Number(outage.headers['retry-after']) >= 1, 'Retry-After during 1100');
      // Mirror reads go on from the last state, saying how old it is.
      const stale = await eventually(
        async () => {
          const r = await get('/account/positions');
          assert.equal(r.status, 200);
          assert.notEqual(r.headers['x-ibrest-mirror-age'], undefined);
          return r;
        },
        5_000,
        20,
      );
      assert.ok(Number(stale.headers['x-ibrest-mirror-age']) >= 0);

      const from = stream.events.length;
      const restoredAt = Date.now();
      sim.control.sendNotice(1101);
      const resubscribeMs = await timeUntil(
        () =>
          sent.some((s) => s.name === REQ_MKT_DATA && !s.snapshot && s.at >= restoredAt) &&
          sent.some((s) => s.name === REQ_PNL && s.at >= restoredAt),
        10_000,
        'market data and PnL requested again after 1101',
        10,
      );
      const restored = await stream.waitFor((e) => e.event === 'status' && e.data?.state === 'restored', 10_000, from);
      assert.equal(restored.data.resubscribed, true, 'the stream says its subscription was re-established');
      const afterRestored = stream.events.indexOf(restored) + 1;
      sim.control.setPrice('AAPL', (sim.control.quote('AAPL')!.last ?? 190) + 1);
      const tick = await stream.waitFor((e) => e.event === 'tick', 10_000, afterRestored);
      const contract = '/contract?symbol=AAPL&secType=STK&exchange=SMART&currency=USD';
      await timeUntil(async () => (await get(contract)).status === 200, 15_000, 'reads resume', 20);
      const readsResumeMs = Date.now() - restoredAt;
      const pnlAgain = await get('/account/pnl');
      assert.equal(pnlAgain.status, 200, pnlAgain.text);
      const streamsAfter = sim.control.activeSubscriptions();
      assert.ok(
        streamsAfter.marketData >= 1 && streamsAfter.pnl >= 1,
        `live at IB again: ${JSON.stringify(streamsAfter)}`,
      );

      printFigures('1100-1101-resubscribe', {
        workers: WORKERS,
        degradedEventAfter1100Ms: degraded.at - lostAt,
        resubscribedAtIbAfter1101Ms: resubscribeMs,
        restoredEventAfter1101Ms: restored.at - restoredAt,
        firstTickAfterRestoredMs: tick.at - restored.at,
        readsResumeAfter1101Ms: readsResumeMs,
        streamStayedOpen: true,
        ibSubscriptionsBefore: { marketData: streamsBefore.marketData, pnl: streamsBefore.pnl },
        ibSubscriptionsAfter: { marketData: streamsAfter.marketData, pnl: streamsAfter.pnl },
      });
    } finally {
      stream.close();
      sim.control.events.off('message', onMessage);
    }
  });

  test('326 on reconnect, in /health/ready: worker 2 → spare clientId 9; clientId 0 stuck, orders 503', async () => {
    const { sim } = stack;
    const w0 = stack.workers[0]!;
    const w2 = stack.workers[2]!;
    const HOLD_MS = 7_000;
    const heldAt = Date.now();
    sim.control.holdClientId(0, HOLD_MS);
    sim.control.holdClientId(2, HOLD_MS);
    const violationsBefore = sim.control.violations().byCode['326'] ?? 0;
    const restarted = sim.control.restart({ downMs: 300 });

    const refused = await eventually(
      async () => {
        const h = await rawRequest(w2.url, { path: '/health/ready' });
        assert.equal(h.status, 503);
        assert.equal(h.json.ib.clientIdInUse, true, JSON.stringify(h.json));
        return h;
      },
      10_000,
      50,
    );
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const refusedMs = Date.now() - heldAt;
    await restarted;

    // Worker 2: two refusals, then the spare; it serves again while 2 is still held.
    await timeUntil(
      async () => {
        const h = await rawRequest(w2.url, { path: '/health/ready' });
        return h.status === 200 && h.json.clientId === 9 && h.json.lease === 'spare';
      },
      HOLD_MS,
      'worker 2 ready on spare clientId 9',
    );
    const spareMs = Date.now() - heldAt;
    assert.ok(Date.now() - heldAt < HOLD_MS, 'the spare was taken while clientId 2 was still held');
    assert.ok(
      sim.control.connections().some((c) => c.clientId === 9),
      'the simulator sees clientId 9',
    );
    assert.match((await rawRequest(w2.url, { path: '/metrics' })).text, /^ibworker_client_id_fallbacks_total [1-9]/m);

    // clientId 0 cannot be replaced: stuck, reported, and orders get 503 while reads go on.
    const stuck = await eventually(
      async () => {
        const h = await rawRequest(w0.url, { path: '/health/ready' });
        assert.equal(h.json.code, 'CLIENT_ID_STUCK', JSON.stringify(h.json));
        return h;
      },
      HOLD_MS,
      50,
    );
    assert.equal(stuck.status, 503);
    assert.equal(stuck.json.clientId, 0, 'clientId 0 never moves to a spare');
    const order = await post('/order', mktOrder(1));
    assert.equal(order.status, 503, order.text);
    assert.ok(Number(order.headers['retry-after']) >= 1);
    const read = await eventually(
      async () => {
        const r = await get('/account/positions');
        assert.equal(r.status, 200);
        return r;
      },
      10_000,
      50,
    );
    assert.notEqual(read.headers['x-ib-client-id'], '0');
    await eventually(
      async () => {
        const clients = (await get('/clients')).json.clients as Array<{
          clientId: number;
          up: boolean;
          ibClientId: number | null;
          lease: string | null;
          code: string | null;
        }>;
        const w2 = clients.find((c) => c.clientId === 2);
        assert.equal(w2?.up, true, 'the pool has worker 2 (on its spare) back in rotation');
        assert.equal(w2?.ibClientId, 9, '/clients says which IB clientId worker 2 uses');
        assert.equal(w2?.lease, 'spare');
        const w0 = clients.find((c) => c.clientId === 0);
        assert.equal(w0?.up, false);
        assert.equal(w0?.code, 'CLIENT_ID_STUCK', '/clients says why worker 0 is out');
      },
      5_000,
      50,
    );

    // Once IB lets clientId 0 go, worker 0 comes back by itself with the same clientId.
    await timeUntil(() => poolFullyUp(stack.proxyUrl, WORKERS), 20_000, 'pool fully up after the hold');
    const recoveredMs = Date.now() - heldAt;
    const again = await post('/order', mktOrder(1));
    assert.equal(again.status, 201, again.text);
    assert.ok(sim.control.connections().some((c) => c.clientId === 0));

    printFigures('326-on-reconnect', {
      heldClientIds: [0, 2],
      holdMs: HOLD_MS,
      refusalsBeforeFallback: 2,
      refusalReportedAfterMs: refusedMs,
      worker2ReadyOnSpareAfterMs: spareMs,
      worker0ReadyAfterHoldMs: recoveredMs,
      simRefusals326: (sim.control.violations().byCode['326'] ?? 0) - violationsBefore,
      ordersDuringStuck: order.status,
      readsDuringStuck: read.status,
    });
  });
});
