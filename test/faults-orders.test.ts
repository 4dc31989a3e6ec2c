import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  NO_WINDOWS,
  orderRefForKey,
  printFigures,
  rawRequest,
  runLanes,
  sleep,
  Tally,
  timeUntil,
} from './helpers/faults-kit.js';
import { startStack, type Stack } from './helpers/stack.js';

/**
 * "Never placed twice, never lost, never a false success" under faults the order path was not written
 * around, each over FAULT_ORDERS keyed orders (default 60 in `npm test`; `npm run test:faults` runs 2,000):
 * short gateway restarts under 8 lanes, kill -9 of worker 0 while orders fill, the idempotency store
 * deleted. A careful client (one key per order, the same request repeated until it gets a final answer)
 * is simulated; the assertions are what a user would check: every 201's order exists at the simulator,
 * one simulator order per key, every fill and final status in the journal, cursors gap-free and
 * strictly increasing across restarts, and the stack serving again without a manual restart.
 */
const ORDERS = Number(process.env.FAULT_ORDERS ?? 60);
const LANES = 8;
const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const FINAL = new Set(['Filled', 'Cancelled', 'ApiCancelled', 'Inactive']);
const json = { 'content-type': 'application/json' };

interface Placed {
  key: string;
  orderId: number;
  permId: number;
  attempts: number;
  replayed: boolean;
}

describe(`faults – keyed orders vs gateway restarts, kill -9, a lost idempotency store (${ORDERS} per fault)`, () => {
  let stack: Stack;
  const runId = `faults-orders-${process.pid}-${Date.now()}`;
  before(async () => {
    stack = await startStack({
      workers: 2,
      workerEnv: { ...NO_WINDOWS, IB_RECONNECT_MIN_MS: '100', IB_RECONNECT_MAX_MS: '400' },
      proxyEnv: NO_WINDOWS,
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const bodyFor = (key: string) => {
    // Every third order rests (a limit far from the market), the others fill at once: open, completed and executed.
    const rest = Number.parseInt(orderRefForKey(key).slice(-2), 16) % 3 === 0;
    return JSON.stringify({
      contract: AAPL,
      order: rest
        ? { action: 'BUY', orderType: 'LMT', lmtPrice: 1, totalQuantity: 1 }
        : { action: 'BUY', orderType: 'MKT', totalQuantity: 1 },
    });
  };

  /** One key, the same request repeated until a final answer (201 or a 4xx refusal); the retry budget is generous. */
  async function placeUntilFinal(key: string, statuses: Tally): Promise<Placed | undefined> {
    const started = Date.now();
    for (let attempts = 1; ; attempts++) {
      try {
        const r = await rawRequest(stack.proxyUrl, {
          method: 'POST',
          path: '/order?timeout=3',
          headers: { ...json, 'idempotency-key': key },
          body: bodyFor(key),
          timeoutMs: 15_000,
        });
        statuses.add(String(r.status) + (r.json?.error?.code ? ` ${r.json.error.code}` : ''), r.text.slice(0, 300));
        if (r.status === 201)
          return {
            key,
            orderId: r.json.orderId,
            permId: r.json.permId,
            attempts,
            replayed: r.headers['idempotent-replayed'] === 'true',
          };
        if (r.status < 500 && r.status !== 409 && r.status !== 429) return undefined;
      } catch (err) {
        statuses.add('network', (err as Error).message);
      }
      if (Date.now() - started > 120_000) {
        statuses.add('gave up after 120 s', key);
        return undefined;
      }
      await sleep(50 + Math.random() * 100);
    }
  }

  type JournalEvent = { cursor: number; type: string; orderId?: number; permId?: number; execId?: string };
  type Journalled = JournalEvent & { status?: string };
  async function journal(): Promise<Journalled[]> {
    const out = [];
    for (let since = 0; ;) {
      const page = await rawRequest(stack.proxyUrl, {
        path: `/order/events?since=${since}&limit=1000`,
        timeoutMs: 30_000,
      });
      assert.equal(page.status, 200, page.text);
      const events = page.json.events as Array<{ cursor: number }>;
      if (events.length === 0) return out as never;
      out.push(...events);
      since = events.at(-1)!.cursor;
    }
  }

  /** The user's checks after a fault run. */
  async function verify(
    scenario: string,
    keys: string[],
    placed: Placed[],
    statuses: Tally,
    started: number,
    extra: Record<string, unknown> = {},
  ) {
    // Recovery without a manual restart: the order path serves again.
    const probeKey = `${runId}-${scenario}-probe`;
    const probe = await placeUntilFinal(probeKey, statuses);
    assert.ok(probe !== undefined, 'the order path serves again after the faults');
    const sims = stack.sim.control.orders().filter((o) => o.clientId === 0);
    const byRef = new Map<string, typeof sims>();
    for (const o of sims) byRef.set(o.orderRef, [...(byRef.get(o.orderRef) ?? []), o]);
    // Zero false 201s: every 201 names an order the simulator holds, under the key's orderRef.
    const atSim = (p: Placed) =>
      sims.some((o) => o.permId === p.permId && o.orderId === p.orderId && o.orderRef === orderRefForKey(p.key));
    const false201 = placed.filter((p) => !atSim(p));
    // Zero duplicates: one simulator order per key.
    const duplicates = keys.filter((k) => (byRef.get(orderRefForKey(k))?.length ?? 0) > 1);
    const unanswered = keys.length - placed.length;
    // Zero lost journal events: every simulator execution and every final status of our orders is journalled.
    const ours = new Set(keys.map(orderRefForKey));
    const execs = stack.sim.control.executions().filter((e) => e.clientId === 0 && ours.has(e.orderRef));
    let lostFills: string[];
    let lostFinals: number[];
    let gaps: number;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const events = await journal();
      const fills = new Set(events.filter((e) => e.type === 'fill').map((e) => e.execId));
      lostFills = execs.map((e) => e.execId).filter((id) => !fills.has(id));
      const finals = new Set(events.filter((e) => e.status !== undefined && FINAL.has(e.status)).map((e) => e.permId));
      const finalMissing = (o: (typeof sims)[number]) =>
        ours.has(o.orderRef) && FINAL.has(o.status) && !finals.has(o.permId);
      lostFinals = sims.filter(finalMissing).map((o) => o.permId);
      gaps =
        events.filter((e, i) => i > 0 && e.cursor !== events[i - 1]!.cursor + 1).length +
        (events[0]?.cursor === 1 ? 0 : 1);
      if ((lostFills.length === 0 && lostFinals.length === 0) || Date.now() > deadline) break;
      await sleep(500);
    }
    const attempts = placed.map((p) => p.attempts);
    const figures = {
      keys: keys.length,
      answered201: placed.length,
      unanswered,
      false201: false201.length,
      duplicates: duplicates.length,
      lostFills: lostFills.length,
      lostFinalStatuses: lostFinals.length,
      cursorGaps: gaps,
      simOrders: sims.length,
      executions: execs.length,
      replayed201: placed.filter((p) => p.replayed).length,
      maxAttempts: Math.max(0, ...attempts),
      seconds: Math.round((Date.now() - started) / 1000),
      statuses: statuses.counts,
      ...extra,
    };
    printFigures(`orders-${scenario}`, figures);
    assert.equal(false201.length, 0, `false 201s: ${JSON.stringify(false201.slice(0, 3))}`);
    assert.equal(duplicates.length, 0, `keys placed twice: ${duplicates.slice(0, 3).join(', ')}`);
    assert.equal(unanswered, 0, `keys without a 201: ${JSON.stringify(statuses.examples)}`);
    assert.equal(lostFills.length, 0, `fills missing from the journal: ${lostFills.slice(0, 3).join(', ')}`);
    assert.equal(lostFinals.length, 0, `final statuses missing from the journal: ${lostFinals.slice(0, 3).join(', ')}`);
    assert.equal(gaps, 0, 'journal cursors are gap-free and strictly increasing');
  }

  async function run(scenario: string, fault: (done: () => boolean) => Promise<Record<string, unknown>>) {
    const keys = Array.from({ length: ORDERS }, (_, i) => `${runId}-${scenario}-${i}`);
    const placed: Placed[] = [];
    const statuses = new Tally();
    const started = Date.now();
    let next = 0;
    let finished = false;
    const faults = fault(() => finished);
    await runLanes(
      LANES,
      async () => {
        const key = keys[next++];
        if (key === undefined) return;
        const p = await placeUntilFinal(key, statuses);
        if (p) placed.push(p);
      },
      { stop: () => next >= keys.length, maxIterations: ORDERS },
    );
    finished = true;
    const extra = await faults;
    await verify(scenario, keys, placed, statuses, started, extra);
  }

  test('short gateway restarts under 8 lanes of keyed orders', async () => {
    await run('gateway-restarts', async (done) => {
      let restarts = 0;
      const w0 = stack.workers[0]!;
      while (!done()) {
        // The next short restart comes once orders flow again (worker 0 ready, then 0.3–1 s of orders).
        const ready = async () =>
          (await rawRequest(w0.url, { path: '/health/ready', timeoutMs: 2_000 })).status === 200;
        await timeUntil(ready, 60_000, 'worker 0 ready');
        await sleep(300 + Math.random() * 700);
        if (done()) break;
        await stack.sim.control.restart({ downMs: 100 + Math.floor(Math.random() * 300) });
        restarts++;
      }
      return { restarts };
    });
  });

  test('kill -9 of worker 0 while orders fill', async () => {
    await run('kill-worker0', async (done) => {
      let kills = 0;
      const w0 = stack.workers[0]!;
      while (!done()) {
        // Killed at a random moment once orders flow again (ready, then 0.5–2 s of fills).
        await timeUntil(
          async () => (await rawRequest(w0.url, { path: '/health/ready', timeoutMs: 2_000 })).status === 200,
          60_000,
          'worker 0 ready',
        );
        await sleep(500 + Math.random() * 1_500);
        if (done()) break;
        await w0.kill();
        kills++;
        await w0.restart();
      }
      return { kills };
    });
  });

  test('the idempotency store deleted: retried keys are found at IB by orderRef, never placed again', async () => {
    const scenario = 'store-deleted';
    const keys = Array.from({ length: ORDERS }, (_, i) => `${runId}-${scenario}-${i}`);
    const statuses = new Tally();
    const started = Date.now();
    const first: Placed[] = [];
    let next = 0;
    await runLanes(
      LANES,
      async () => {
        const key = keys[next++];
        if (key === undefined) return;
        const p = await placeUntilFinal(key, statuses);
        if (p) first.push(p);
      },
      { stop: () => next >= keys.length, maxIterations: ORDERS },
    );
    const simBefore = stack.sim.control.orders().length;
    await stack.workers[0]!.kill();
    const dir = join(stack.dataDir, 'worker0');
    const removed = readdirSync(dir).filter((f) => f.startsWith('idempotency'));
    for (const f of removed) rmSync(join(dir, f), { recursive: true, force: true });
    assert.ok(removed.length > 0, 'the idempotency store was on disk');
    await stack.workers[0]!.restart();
    const again: Placed[] = [];
    next = 0;
    await runLanes(
      LANES,
      async () => {
        const key = keys[next++];
        if (key === undefined) return;
        const p = await placeUntilFinal(key, statuses);
        if (p) again.push(p);
      },
      { stop: () => next >= keys.length, maxIterations: ORDERS },
    );
    const firstById = new Map(first.map((p) => [p.key, p.orderId]));
    const changed = again.filter((p) => firstById.get(p.key) !== p.orderId);
    assert.equal(stack.sim.control.orders().length, simBefore, 'no order placed again after the store was lost');
    assert.equal(changed.length, 0, `retries answered with another order: ${JSON.stringify(changed.slice(0, 3))}`);
    await verify(scenario, keys, again, statuses, started, {
      removedFiles: removed.length,
      newOrdersAfterLoss: stack.sim.control.orders().length - simBefore,
    });
  });
});
