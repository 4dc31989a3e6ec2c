import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@ibrest/common';
import { mainScript, startService, type RunningService } from '@ibrest/stack';
import { loadConfig } from '../src/config.js';
import { startWorker, type WorkerHandle } from '../src/worker.js';
import { AAPL, http, tempDataDir } from './helpers.js';

/**
 * Soak (npm run test:soak, not part of npm test): SOAK_ORDERS orders (default 10,000) through one worker,
 * each filled at once, with the simulator in its own process so only the worker's memory is measured.
 * The order mirror keeps open orders and a bounded window of finished ones: heap and RSS after a full GC
 * must stay flat once the window is full (under a kilobyte per order, where an unbounded mirror grew ~35 KB
 * per order); RSS, noisier, must stay under 10 KB per order.
 */
const ORDERS = Number(process.env.SOAK_ORDERS ?? 10_000);
const WARMUP = Math.min(3_000, Math.floor(ORDERS / 3));
const LANES = 8;

describe(`soak – ${ORDERS} orders, flat memory`, () => {
  let sim: RunningService;
  let worker: WorkerHandle;
  const dataDir = tempDataDir();
  before(async () => {
    sim = startService({
      name: 'gateway-sim',
      script: mainScript('@ibrest/gateway-sim'),
      args: ['--port', '0', '--msg-rate', '100000', '--log-level', 'warn'],
    });
    const { port } = await sim.listening;
    const config = loadConfig({
      DATA_DIR: dataDir,
      ORDER_DATA_FSYNC: 'false',
      IB_MAINTENANCE_WINDOWS: 'none',
      IB_PORT: String(port),
      IB_CLIENT_ID: '0',
      PORT: '0',
      LOG_LEVEL: 'silent',
      IB_MSG_RATE: '50',
    });
    worker = await startWorker(config, { logger: createLogger('soak', 'silent') });
    await worker.whenReady(20_000);
  });
  after(async () => {
    await worker?.close();
    await sim?.stop(5_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  let placed = 0;
  const measure = () => {
    (globalThis as { gc?: () => void }).gc!();
    (globalThis as { gc?: () => void }).gc!();
    const m = process.memoryUsage();
    // RSS splits into anonymous memory (what the process allocated) and file pages it has mapped (SQLite's
    // WAL index and data files, reclaimable by the kernel): a leak shows in the anonymous part.
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const mb = (bytes: number) => bytes / 2 ** 20;
    const anonMb = kb('RssAnon') / 1024;
    return { heapMb: mb(m.heapUsed), rssMb: mb(m.rss), anonMb, fileMb: kb('RssFile') / 1024, orders: placed };
  };

  it('heap and RSS after GC stay flat once the finished-order window is full', async () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'function', 'run with node --expose-gc');
    const place = async (until: number) => {
      await Promise.all(
        Array.from({ length: LANES }, async () => {
          while (placed < until) {
            placed++;
            const r = await http(`${worker.url}/order`, {
              method: 'POST',
              json: {
                contract: AAPL,
                order: { action: placed % 2 ? 'BUY' : 'SELL', orderType: 'MKT', totalQuantity: 1 },
              },
            });
            assert.equal(r.status, 201, JSON.stringify(r.body));
          }
        }),
      );
    };
    await place(WARMUP);
    const atWarmup = measure();
    const started = Date.now();
    const half = WARMUP + Math.floor((ORDERS - WARMUP) / 2);
    await place(half);
    const atHalf = measure();
    await place(ORDERS);
    await new Promise((r) => setTimeout(r, 1_000));
    const atEnd = measure();
    const kbPerOrder = (mb: number, orders: number) => (mb * 1024) / orders;
    const heapKb = kbPerOrder(atEnd.heapMb - atWarmup.heapMb, ORDERS - atWarmup.orders);
    const rssKb = kbPerOrder(atEnd.anonMb - atHalf.anonMb, ORDERS - half);
    const figures = {
      orders: ORDERS,
      warmup: WARMUP,
      half,
      seconds: Math.round((Date.now() - started) / 1000),
      heapMb: [atWarmup, atHalf, atEnd].map((m) => m.heapMb.toFixed(1)),
      rssMb: [atWarmup, atHalf, atEnd].map((m) => m.rssMb.toFixed(1)),
      rssAnonMb: [atWarmup, atHalf, atEnd].map((m) => m.anonMb.toFixed(1)),
      rssFileMb: [atWarmup, atHalf, atEnd].map((m) => m.fileMb.toFixed(1)),
      heapKbPerOrder: heapKb.toFixed(2),
      anonKbPerOrderSecondHalf: rssKb.toFixed(2),
      mirrorRecords: worker.mirror.orders.size,
      executions: worker.mirror.executions.query().length,
    };
    console.log(`SOAK_FIGURES ${JSON.stringify(figures)}`);
    assert.ok(worker.mirror.orders.size <= 2_100, `mirror holds ${worker.mirror.orders.size} records`);
    assert.ok(heapKb < 1, `heap grew ${figures.heapKbPerOrder} KB per order`);
    // RSS after GC is noisy (allocator and SQLite caches, other processes): a bound far below the ~35 KB per order
    // of an unbounded mirror, over the whole run after the warm-up.
    const rssWholeKb = kbPerOrder(atEnd.rssMb - atWarmup.rssMb, ORDERS - atWarmup.orders);
    assert.ok(rssWholeKb < 10, `RSS grew ${rssWholeKb.toFixed(2)} KB per order`);
  });
});
