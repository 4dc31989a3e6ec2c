import http from 'node:http';
import { startBenchStack } from './stack.mjs';
import { inspectorSession } from './inspector.mjs';
import { scrape, sum } from './metrics.mjs';
import { cpuSeconds, fdCounts, rssBytes } from './proc.mjs';
import { runWrk } from './wrk.mjs';
import { pollUntil, sleep } from './stats.mjs';

const MB = 1024 * 1024;
/** Longer than the proxy's idle upstream socket timeout (4 s) and the workers' keep-alive (5 s). */
const IDLE_MS = 6_000;

async function reading(target) {
  const mem = await target.session.gcAndMemory();
  return {
    rssMB: rssBytes(target.pid) / MB,
    heapUsedMB: mem.heapUsed / MB,
    heapTotalMB: mem.heapTotal / MB,
    fds: fdCounts(target.pid),
    cpuS: cpuSeconds(target.pid),
  };
}

/** One client that gives up: waits `afterMs` (or for the first bytes of a stream), then destroys its socket. */
function abortOne(url, afterMs, streaming) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(how);
    };
    const req = http.get(url, { agent: false, headers: streaming ? { accept: 'text/event-stream' } : {} }, (res) => {
      if (streaming) res.once('data', () => finish('aborted-stream'));
      res.on('end', () => finish('completed'));
      res.resume();
    });
    req.on('error', () => finish('error'));
    const timer = setTimeout(() => finish('aborted'), afterMs);
  });
}

async function runPool(n, concurrency, fn) {
  let i = 0;
  const outcomes = {};
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < n) {
        const k = i++;
        const how = await fn(k);
        outcomes[how] = (outcomes[how] ?? 0) + 1;
      }
    }),
  );
  return outcomes;
}

/** Benchmark 5: memory of the proxy and one worker around a long load, then client aborts and leak checks. */
export async function benchMemory(ctx) {
  const { quick, log, wrkPath } = ctx;
  const totalRequests = quick ? 50_000 : 1_000_000;
  const nAborts = quick ? 1_000 : 10_000;
  const stack = await startBenchStack({ inspect: ['proxy', 'worker1'], proxyLogLevel: 'info' });
  const targets = {
    proxy: { pid: stack.proxy.pid, session: await inspectorSession(stack.proxy.inspectorUrl) },
    worker1: { pid: stack.workers[1].pid, session: await inspectorSession(stack.workers[1].inspectorUrl) },
  };
  const snapshot = async () =>
    Object.fromEntries(await Promise.all(Object.entries(targets).map(async ([k, t]) => [k, await reading(t)])));
  try {
    await runWrk(wrkPath, { url: `${stack.proxy.url}/account/positions`, connections: 64, durationS: 2 });
    await sleep(IDLE_MS);
    const before = await snapshot();

    // Load in chunks until the total is reached, sampling RSS every second in between.
    const samples = [];
    const sampler = setInterval(() => {
      samples.push({
        t: Date.now(),
        proxyRssMB: rssBytes(targets.proxy.pid) / MB,
        workerRssMB: rssBytes(targets.worker1.pid) / MB,
      });
    }, 1000);
    let done = 0;
    let errors = 0;
    const started = Date.now();
    while (done < totalRequests) {
      const r = await runWrk(wrkPath, {
        url: `${stack.proxy.url}/account/positions`,
        connections: 64,
        durationS: quick ? 4 : 15,
      });
      done += r.requests;
      errors += Object.values(r.errors).reduce((a, b) => a + b, 0);
      log(
        `  load: ${done.toLocaleString('en-US')} / ${totalRequests.toLocaleString('en-US')} requests ` +
          `(${Math.round(r.rps)} req/s)`,
      );
    }
    clearInterval(sampler);
    const loadS = (Date.now() - started) / 1000;
    await sleep(IDLE_MS);
    const after = await snapshot();

    // Aborts: slow calls (the simulator delays every IB reply) and, when the worker offers one, streams.
    const probe = await new Promise((resolve) => {
      http
        .get(
          `${stack.workers[1].url}/market/data?conId=265598&format=sse`,
          { headers: { accept: 'text/event-stream' } },
          (res) => {
            resolve(String(res.headers['content-type'] ?? '').startsWith('text/event-stream'));
            res.destroy();
          },
        )
        .on('error', () => resolve(false));
    });
    const contracts = stack.sim.sim.engine.catalogue.all.map((c) => c.conId);
    stack.sim.control.delayReplies(1_500);
    const inFlightBefore = sum(await scrape(`${stack.proxy.url}/metrics`), 'ibproxy_requests_in_flight');
    const outcomes = await runPool(nAborts, 100, (k) => {
      const conId = contracts[k % 8];
      const streaming = probe && k % 2 === 1;
      if (streaming) return abortOne(`${stack.proxy.url}/market/data?conId=${conId}&format=sse`, 2_000, true);
      const path = k % 2 === 0 ? `/contract?conId=${conId}` : `/market/data?conId=${conId}`;
      return abortOne(`${stack.proxy.url}${path}`, 20 + (k % 10) * 20, false);
    });
    stack.sim.control.delayReplies(0);
    const inFlightZero = await pollUntil(
      async () => sum(await scrape(`${stack.proxy.url}/metrics`), 'ibproxy_requests_in_flight') === 0,
      20_000,
      200,
    );
    const inFlightAfter = sum(await scrape(`${stack.proxy.url}/metrics`), 'ibproxy_requests_in_flight');
    await sleep(IDLE_MS);
    const afterAborts = await snapshot();
    const workerMetrics = await scrape(`${stack.workers[1].url}/metrics`).catch(() => new Map());
    const proxyMetrics = await scrape(`${stack.proxy.url}/metrics`);

    const leaked = (k) => afterAborts[k].fds.sockets - before[k].fds.sockets;
    const result = {
      requests: done,
      loadSeconds: loadS,
      loadErrors: errors,
      peakDuringLoad: {
        proxyRssMB: Math.max(...samples.map((s) => s.proxyRssMB)),
        workerRssMB: Math.max(...samples.map((s) => s.workerRssMB)),
      },
      samples,
      before,
      after,
      aborts: {
        requested: nAborts,
        streamingSupported: probe,
        outcomes,
        inFlightBefore,
        inFlightAfter,
        inFlightReturnedToZero: Boolean(inFlightZero),
        proxy499: sum(
          new Map(
            [...proxyMetrics].filter(([k]) => k.startsWith('ibproxy_requests_total{') && k.includes('code="499"')),
          ),
          'ibproxy_requests_total',
        ),
        workerPacerQueueDepth: sum(workerMetrics, 'ibworker_pacer_queue_depth'),
        simMarketDataLinesInUse: stack.sim.control.activeMarketDataLines(),
        leakedSockets: { proxy: leaked('proxy'), worker1: leaked('worker1') },
      },
      afterAborts,
    };
    const f = (x) => x.toFixed(1);
    log(
      `  proxy RSS ${f(before.proxy.rssMB)} → peak ${f(result.peakDuringLoad.proxyRssMB)} → ` +
        `${f(after.proxy.rssMB)} MB, heap after GC ${f(before.proxy.heapUsedMB)} → ` +
        `${f(after.proxy.heapUsedMB)} → ${f(afterAborts.proxy.heapUsedMB)} MB`,
    );
    log(
      `  worker1 RSS ${f(before.worker1.rssMB)} → peak ${f(result.peakDuringLoad.workerRssMB)} → ` +
        `${f(after.worker1.rssMB)} MB, heap after GC ${f(before.worker1.heapUsedMB)} → ` +
        `${f(after.worker1.heapUsedMB)} → ${f(afterAborts.worker1.heapUsedMB)} MB`,
    );
    log(
      `  aborts ${JSON.stringify(outcomes)}; in flight after ${inFlightAfter}; ` +
        `leaked sockets ${JSON.stringify(result.aborts.leakedSockets)}; ` +
        `sim md lines ${result.aborts.simMarketDataLinesInUse}`,
    );
    return result;
  } finally {
    for (const t of Object.values(targets)) t.session.close();
    await stack.stop();
  }
}
