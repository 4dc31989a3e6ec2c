import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningService } from '@ibrest/stack';
import {
  classify,
  metricSum,
  mktOrder,
  NO_WINDOWS,
  orderRefForKey,
  percentile,
  poolFullyUp,
  printFigures,
  rawRequest,
  restartProxy,
  runLanes,
  sleep,
  SYMBOLS,
  Tally,
  timeUntil,
} from './helpers/faults-kit.js';
import { startStack, type Stack } from './helpers/stack.js';

const WORKERS = 4;
const PLACE_ORDER = 'PLACE_ORDER';

interface KeyedResult {
  key: string;
  attempts: number;
  ms: number;
  status: number;
  orderId?: number;
  permId?: number;
  replayed: boolean;
}

/**
 * The fault suite, part 2: our own processes die. kill -9 of a read worker, of worker 0 (at the worst
 * moment: right after it handed an order to IB) and of the proxy (with an order in flight through it),
 * each under steady load of reads and of orders sent with an Idempotency-Key and retried by the client
 * until they succeed. Reads must not fail while a read worker is up; the simulator must never hold two
 * orders for one key.
 */
describe('faults – kill -9 of a worker, of worker 0 and of the proxy under load', () => {
  let stack: Stack;
  let proxy: RunningService | undefined;
  let proxyPort = 0;
  const results: KeyedResult[] = [];
  const json = { 'content-type': 'application/json' };
  let keySeq = 0;
  const runId = `faults-kill-${process.pid}-${Date.now()}`;

  before(async () => {
    // The realistic session (SIM_SESSION): farm flaps and link blips run under the faults.
    stack = await startStack({
      workers: WORKERS,
      workerEnv: { ...NO_WINDOWS },
      proxyEnv: NO_WINDOWS,
    });
    proxyPort = Number(new URL(stack.proxyUrl).port);
  });
  after(async () => {
    await proxy?.stop(5_000);
    await stack?.stop();
  });

  /**
   * What a careful client does: one key per order, the same request repeated until it gets its 201,
   * whatever happened in between (503, 502, refused connections, a released key).
   */
  async function placeWithRetries(statuses: Tally): Promise<KeyedResult> {
    const key = `${runId}-${++keySeq}`;
    const started = Date.now();
    for (let attempts = 1; ; attempts++) {
      let r;
      try {
        r = await rawRequest(stack.proxyUrl, {
          method: 'POST',
          path: '/order',
          headers: { ...json, 'idempotency-key': key },
          body: JSON.stringify(mktOrder(1)),
          timeoutMs: 20_000,
        });
      } catch (err) {
        statuses.add('network', (err as Error).message);
      }
      if (r !== undefined) {
        if (r.status === 201) {
          const res: KeyedResult = {
            key,
            attempts,
            ms: Date.now() - started,
            status: 201,
            orderId: r.json.orderId,
            permId: r.json.permId,
            replayed: r.headers['idempotent-replayed'] === 'true',
          };
          results.push(res);
          return res;
        }
        const code = r.json?.error?.code as string | undefined;
        const retryable =
          r.status === 503 || r.status === 502 || r.status === 504 || code === 'IDEMPOTENCY_KEY_RELEASED';
        statuses.add(`${r.status}${code ? ` ${code}` : ''}`, r.text.slice(0, 200));
        if (!retryable) {
          const res: KeyedResult = { key, attempts, ms: Date.now() - started, status: r.status, replayed: false };
          results.push(res);
          return res;
        }
      }
      if (Date.now() - started > 40_000) throw new Error(`order with key ${key} not placed within 40 s`);
      await sleep(100);
    }
  }

  /** Runs read lanes and idempotent order lanes until `fault` has run and the pool is whole again, plus a little. */
  async function underLoad(name: string, fault: () => Promise<void>) {
    const reads = new Tally();
    const orderStatuses = new Tally();
    const keyed: KeyedResult[] = [];
    let stop = false;
    const load = Promise.all([
      runLanes(
        2,
        async (lane, i) => {
          const path = (lane + i) % 2 === 0 ? '/account/positions' : `/contract?symbol=${SYMBOLS[i % SYMBOLS.length]}`;
          try {
            const r = await rawRequest(stack.proxyUrl, { path, timeoutMs: 15_000 });
            reads.add(classify(r), `${r.status} ${r.text.slice(0, 200)}`);
          } catch (err) {
            reads.add('network', (err as Error).message);
            await sleep(50);
          }
        },
        { stop: () => stop, maxIterations: 20_000, pauseMs: 10 },
      ),
      runLanes(
        2,
        async () => {
          keyed.push(await placeWithRetries(orderStatuses));
        },
        { stop: () => stop, maxIterations: 1_000, pauseMs: 20 },
      ),
    ]);
    try {
      await timeUntil(() => reads.get('ok') >= 10 && keyed.length >= 4, 10_000, `${name}: steady state`);
      const faultAt = Date.now();
      await fault();
      await timeUntil(() => poolFullyUp(stack.proxyUrl, WORKERS), 30_000, `${name}: pool whole again`);
      const recoveredMs = Date.now() - faultAt;
      const placedBefore = keyed.length;
      await timeUntil(() => keyed.length >= placedBefore + 4, 20_000, `${name}: orders flow again`);
      stop = true;
      await load;
      return { reads, orderStatuses, keyed, recoveredMs };
    } finally {
      stop = true;
      await load;
    }
  }

  function orderFigures(keyed: KeyedResult[], statuses: Tally) {
    const retried = keyed.filter((k) => k.attempts > 1);
    return {
      keys: keyed.length,
      keysRetried: retried.length,
      attempts: keyed.reduce((a, k) => a + k.attempts, 0),
      answeredByReplay: keyed.filter((k) => k.replayed).length,
      retryAnswers: statuses.counts,
      timeToSuccessMsP50: percentile(
        keyed.map((k) => k.ms),
        50,
      ),
      timeToSuccessMsMax: Math.max(0, ...keyed.map((k) => k.ms)),
    };
  }

  test('kill -9 of a read worker: every read still answered 200, orders unaffected', async () => {
    const victim = stack.workers[2]!;
    const { reads, orderStatuses, keyed, recoveredMs } = await underLoad('read worker', async () => {
      // Killed while it waits for IB on a read it accepted: the proxy must answer that read from another worker.
      await new Promise<void>((resolve) => {
        const onMessage = (m: { name: string; clientId: number | undefined }) => {
          if (m.name !== 'REQ_CONTRACT_DATA' || m.clientId !== 2) return;
          stack.sim.control.events.off('message', onMessage);
          void victim.kill();
          resolve();
        };
        stack.sim.control.events.on('message', onMessage);
      });
      await victim.service.exited;
      await timeUntil(
        async () => {
          const clients = (await rawRequest(stack.proxyUrl, { path: '/clients' })).json.clients as Array<{
            clientId: number;
            up: boolean;
          }>;
          return clients.find((c) => c.clientId === 2)?.up === false;
        },
        10_000,
        'worker 2 out of rotation',
      );
      await victim.restart();
    });
    assert.deepEqual(
      Object.keys(reads.counts),
      ['ok'],
      `reads never failed: ${JSON.stringify(reads.counts)} ${JSON.stringify(reads.examples)}`,
    );
    assert.ok(
      keyed.every((k) => k.status === 201),
      'every order placed',
    );
    const proxyMetrics = (await rawRequest(stack.proxyUrl, { path: '/metrics' })).text;
    printFigures('kill-read-worker', {
      workers: WORKERS,
      victim: 'worker2',
      killedAfter: 'REQ_CONTRACT_DATA reached the simulator',
      reads: reads.counts,
      proxyRetriesOnAnotherWorker: metricSum(proxyMetrics, 'ibproxy_retries_total', 'backend="worker2"'),
      orders: orderFigures(keyed, orderStatuses),
      backInRotationMs: recoveredMs,
    });
  });

  test('kill -9 of worker 0 right after an order went to IB: reads unaffected, retried keys placed once', async () => {
    const w0 = stack.workers[0]!;
    const { reads, orderStatuses, keyed, recoveredMs } = await underLoad('worker 0', async () => {
      // The worst moment: the order is at IB, the worker has not answered, nothing may be placed twice.
      await new Promise<void>((resolve) => {
        const onMessage = (m: { name: string; clientId: number | undefined }) => {
          if (m.name !== PLACE_ORDER || m.clientId !== 0) return;
          stack.sim.control.events.off('message', onMessage);
          void w0.kill();
          resolve();
        };
        stack.sim.control.events.on('message', onMessage);
      });
      await w0.service.exited;
      await sleep(300);
      await w0.restart();
    });
    assert.deepEqual(
      Object.keys(reads.counts),
      ['ok'],
      `reads never failed: ${JSON.stringify(reads.counts)} ${JSON.stringify(reads.examples)}`,
    );
    assert.ok(
      keyed.every((k) => k.status === 201),
      `every order placed in the end: ${JSON.stringify(orderStatuses.examples)}`,
    );
    assert.ok(
      keyed.some((k) => k.attempts > 1),
      'some orders had to be retried',
    );
    printFigures('kill-worker0', {
      workers: WORKERS,
      victim: 'worker0',
      killedAfter: 'PLACE_ORDER reached the simulator',
      reads: reads.counts,
      orders: orderFigures(keyed, orderStatuses),
      backInRotationMs: recoveredMs,
    });
  });

  test('kill -9 of the proxy, an order in flight: clients retry via the restarted one, keys placed once', async () => {
    const { reads, orderStatuses, keyed, recoveredMs } = await underLoad('proxy', async () => {
      await new Promise<void>((resolve) => {
        const onMessage = (m: { name: string; clientId: number | undefined }) => {
          if (m.name !== PLACE_ORDER || m.clientId !== 0) return;
          stack.sim.control.events.off('message', onMessage);
          void stack.killProxy();
          resolve();
        };
        stack.sim.control.events.on('message', onMessage);
      });
      await stack.proxy.exited;
      await sleep(300);
      proxy = await restartProxy(stack, proxyPort, NO_WINDOWS);
    });
    assert.ok(reads.get('network') > 0, 'reads failed while no proxy was listening');
    assert.deepEqual(
      Object.keys(reads.counts).filter((k) => k !== 'ok' && k !== 'network'),
      [],
      `only connection errors while the proxy was gone: ${JSON.stringify(reads.examples)}`,
    );
    assert.ok(
      keyed.every((k) => k.status === 201),
      `every order placed in the end: ${JSON.stringify(orderStatuses.examples)}`,
    );
    printFigures('kill-proxy', {
      workers: WORKERS,
      victim: 'proxy',
      killedAfter: 'PLACE_ORDER reached the simulator',
      reads: reads.counts,
      orders: orderFigures(keyed, orderStatuses),
      backInRotationMs: recoveredMs,
    });
  });

  test('duplicates at the simulator = 0: one order per key; a retry replays, another body is refused', async () => {
    const ours = stack.sim.control.orders().filter((o) => o.orderRef.startsWith('ik1-'));
    const byRef = new Map<string, typeof ours>();
    for (const o of ours) byRef.set(o.orderRef, [...(byRef.get(o.orderRef) ?? []), o]);
    const duplicates = [...byRef.values()].filter((list) => list.length > 1);
    const missing = results.filter((r) => !byRef.has(orderRefForKey(r.key)));
    const mismatched = results.filter((r) => byRef.get(orderRefForKey(r.key))?.[0]?.permId !== r.permId);
    printFigures('idempotency-under-kills', {
      keys: results.length,
      simOrdersWithKeys: ours.length,
      duplicates: duplicates.length,
      keysWithoutOrder: missing.length,
      answersNotMatchingTheSimOrder: mismatched.length,
      retriedKeys: results.filter((r) => r.attempts > 1).length,
    });
    assert.deepEqual(
      duplicates.map((d) => d.map((o) => o.orderId)),
      [],
      'no key placed twice',
    );
    assert.deepEqual(
      missing.map((r) => r.key),
      [],
      'every key that got 201 has its order at the simulator',
    );
    assert.deepEqual(
      mismatched.map((r) => r.key),
      [],
      'every answer names the order the simulator holds for its key',
    );
    assert.equal(ours.length, results.length);

    const sample = results.find((r) => r.attempts > 1) ?? results[0]!;
    const replay = await rawRequest(stack.proxyUrl, {
      method: 'POST',
      path: '/order',
      headers: { ...json, 'idempotency-key': sample.key },
      body: JSON.stringify(mktOrder(1)),
    });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json.orderId, sample.orderId);
    const reused = await rawRequest(stack.proxyUrl, {
      method: 'POST',
      path: '/order',
      headers: { ...json, 'idempotency-key': sample.key },
      body: JSON.stringify(mktOrder(2)),
    });
    assert.equal(reused.status, 409);
    assert.equal(reused.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(
      stack.sim.control.orders().filter((o) => o.orderRef.startsWith('ik1-')).length,
      ours.length,
      'neither reached IB',
    );
  });
});
