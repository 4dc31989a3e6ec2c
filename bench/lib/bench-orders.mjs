import ib from '@stoqey/ib';
import { startBenchStack } from './stack.mjs';
import { keepAliveAgent, request } from './http.mjs';
import { RESTING_ORDER } from './bench-load.mjs';
import { percentile, sleep, spread } from './stats.mjs';

const { IBApi, EventName } = ib;
const ACK = new Set(['PreSubmitted', 'Submitted', 'Filled']);
/** Orders per second on each path: below the worker's 40 msg/s pacer, so the figure is latency, not queueing. */
const RATE = 30;
const BLOCK = 50;
const DIRECT_CLIENT_ID = 20;

/** A plain @stoqey/ib client, as an algorithm would use it without us: placeOrder → first acknowledged status. */
async function directClient(port) {
  const api = new IBApi({ host: '127.0.0.1', port });
  let nextId;
  const waiting = new Map();
  api.on(EventName.nextValidId, (id) => {
    nextId ??= id;
  });
  api.on(EventName.orderStatus, (orderId, status) => {
    const w = waiting.get(orderId);
    if (w && ACK.has(status)) {
      waiting.delete(orderId);
      w(process.hrtime.bigint());
    }
  });
  api.on(EventName.error, () => undefined);
  api.connect(DIRECT_CLIENT_ID);
  const deadline = Date.now() + 10_000;
  while (nextId === undefined) {
    if (Date.now() > deadline) throw new Error('direct @stoqey/ib client got no nextValidId');
    await sleep(10);
  }
  return {
    async place() {
      const id = nextId++;
      const start = process.hrtime.bigint();
      const acked = new Promise((resolve, reject) => {
        waiting.set(id, resolve);
        setTimeout(() => reject(new Error(`order ${id} not acknowledged within 10 s`)), 10_000).unref();
      });
      api.placeOrder(id, { ...RESTING_ORDER.contract }, { ...RESTING_ORDER.order, transmit: true });
      return Number((await acked) - start) / 1e6;
    },
    close() {
      api.disconnect();
    },
  };
}

/** Benchmark 4: POST /order → Submitted through proxy and worker vs direct placeOrder on the same simulator. */
export async function benchOrders(ctx) {
  const { quick, log } = ctx;
  const perSide = quick ? 200 : 1000;
  const stack = await startBenchStack({ proxyLogLevel: 'info' });
  const agent = keepAliveAgent(2);
  const direct = await directClient(stack.sim.port);
  try {
    const lat = { ibrest: [], worker: [], direct: [] };
    const failures = { ibrest: 0, worker: 0, direct: 0 };
    const post = (base) => async () => {
      const r = await request(`${base}/order`, { method: 'POST', body: RESTING_ORDER, agent });
      if (r.status !== 201 || !ACK.has(r.json?.status))
        throw new Error(`POST /order → ${r.status} ${r.text.slice(0, 200)}`);
      return r.ms;
    };
    const ours = post(stack.proxy.url);
    // The same call straight to worker 0 splits the difference into proxy hop and worker.
    const worker = post(stack.workers[0].url);
    const sides = { ibrest: ours, worker, direct: direct.place };
    // Warm-up: connections, JIT, the worker's order-id path.
    for (let i = 0; i < 10; i++) {
      for (const fn of Object.values(sides)) await fn();
    }
    const interval = 1000 / RATE;
    let next = performance.now();
    const names = Object.keys(sides);
    for (let block = 0; block * BLOCK < perSide * names.length; block++) {
      const side = names[block % names.length];
      const fn = sides[side];
      for (let i = 0; i < BLOCK && lat[side].length + failures[side] < perSide; i++) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next = Math.max(next + interval, performance.now());
        try {
          lat[side].push(await fn());
        } catch (err) {
          failures[side]++;
          if (failures[side] <= 3) log(`  ${side} order failed: ${err.message}`);
        }
      }
    }
    const summary = (v) => ({
      n: v.length,
      p50Ms: percentile(v, 50),
      p90Ms: percentile(v, 90),
      p99Ms: percentile(v, 99),
      maxMs: Math.max(...v),
    });
    // Per-block medians give the spread of the p50 difference across the interleaved blocks.
    const blocks = (v) =>
      Array.from({ length: Math.ceil(v.length / BLOCK) }, (_, b) =>
        percentile(v.slice(b * BLOCK, (b + 1) * BLOCK), 50),
      );
    const ob = blocks(lat.ibrest);
    const db = blocks(lat.direct);
    const result = {
      ordersPerSide: perSide,
      ratePerS: RATE,
      blockSize: BLOCK,
      ibrest: summary(lat.ibrest),
      worker: summary(lat.worker),
      direct: summary(lat.direct),
      failures,
      p50DiffMs: percentile(lat.ibrest, 50) - percentile(lat.direct, 50),
      p50ProxyHopMs: percentile(lat.ibrest, 50) - percentile(lat.worker, 50),
      p50DiffPerBlockMs: spread(ob.map((x, i) => x - (db[i] ?? NaN))),
      violations: stack.sim.control.violations().byCode,
    };
    log(
      `  ibrest p50 ${result.ibrest.p50Ms.toFixed(2)} ms p99 ${result.ibrest.p99Ms.toFixed(2)} ms; ` +
        `worker direct p50 ${result.worker.p50Ms.toFixed(2)} ms; @stoqey/ib p50 ${result.direct.p50Ms.toFixed(2)} ms ` +
        `p99 ${result.direct.p99Ms.toFixed(2)} ms; difference ${result.p50DiffMs.toFixed(2)} ms; ` +
        `failures ${JSON.stringify(failures)}`,
    );
    return result;
  } finally {
    direct.close();
    agent.destroy();
    await stack.stop();
  }
}
