import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually } from './helpers/eventually.js';
import {
  fdCount,
  metricSum,
  NO_WINDOWS,
  printFigures,
  rawRequest,
  runLanes,
  sleep,
  SYMBOLS,
  Tally,
} from './helpers/faults-kit.js';
import { startStack, type Stack } from './helpers/stack.js';

const WORKERS = 3;
const STREAMS = 500;
/** Requests aborted in all: the streams plus this many slow requests. */
const SLOW = 500;
const CONCURRENCY = 25;
const REPLY_DELAY_MS = 1_500;
/** Sockets the proxy may keep pooled to workers (or the test runner's own connections) beyond the baseline. */
const FD_SLACK = 6;

/**
 * Opens a request and destroys it after `abortAfterMs`, wherever it is by then (connecting, waiting for
 * headers, or reading a stream). Resolves with how far it got.
 */
function abortedRequest(
  base: string,
  path: string,
  headers: Record<string, string>,
  abortAfterMs: number,
): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve) => {
    let stage = 'sent';
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
      stage = res.statusCode === 200 ? 'headers-200' : `headers-${res.statusCode}`;
      res.on('data', () => {
        if (stage === 'headers-200') stage = 'streaming';
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        // Answered completely before the abort: counted separately, it was not slow after all.
        if (!stage.startsWith('aborted')) stage = `completed-${res.statusCode}`;
      });
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve(stage));
    setTimeout(() => {
      if (!stage.startsWith('completed')) stage = `aborted-after-${stage}`;
      req.destroy();
    }, abortAfterMs);
    req.end();
  });
}

/**
 * The fault suite, part 3: a client that walks away. 1,000 slow requests through the proxy are aborted
 * by the client: 500 market-data streams (each an IB subscription while it lives) and 500 requests that
 * wait on IB while the simulator delays every reply. Afterwards nothing may be left behind: no request
 * in flight at the proxy, no extra file descriptors in the proxy or the workers, no market-data line or
 * subscription open at IB.
 */
describe('faults – a client aborts 1,000 slow requests', () => {
  let stack: Stack;
  before(async () => {
    // The realistic session (SIM_SESSION): farm flaps and link blips run under the faults.
    stack = await startStack({
      workers: WORKERS,
      workerEnv: { ...NO_WINDOWS },
      proxyEnv: NO_WINDOWS,
    });
  });
  after(async () => {
    stack?.sim.control.delayReplies(0);
    await stack?.stop();
  });

  const pids = () => ({
    proxy: stack.proxy.pid,
    ...Object.fromEntries(stack.workers.map((w) => [`worker${w.clientId}`, w.service.pid])),
  });
  const fds = () => Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, fdCount(pid)]));

  test('no leaked sockets, nothing in flight, no IB request left open', async () => {
    const { sim } = stack;
    // Warm every path once so lazily opened files and pooled sockets exist before the baseline.
    for (const s of SYMBOLS) {
      assert.equal((await rawRequest(stack.proxyUrl, { path: `/contract?symbol=${s}` })).status, 200);
      assert.equal((await rawRequest(stack.proxyUrl, { path: `/market/data?symbol=${s}` })).status, 200);
    }
    // The baseline is taken once descriptor counts stop moving (pooled sockets opened by the warm-up stay).
    let baseline: Record<string, number> = fds();
    await eventually(
      async () => {
        const previous = baseline;
        await sleep(300);
        baseline = fds();
        assert.deepEqual(baseline, previous, 'descriptor counts stable');
      },
      10_000,
      0,
    );

    const streamed = { req: 0, cancel: 0 };
    const onMessage = (m: { name: string; fields: string[] }) => {
      if (m.name === 'REQ_MKT_DATA' && m.fields.at(-3) === '0') streamed.req++;
      if (m.name === 'CANCEL_MKT_DATA') streamed.cancel++;
    };
    sim.control.events.on('message', onMessage);
    const outcomes = new Tally();
    const abortedCount = () =>
      Object.entries(outcomes.counts)
        .filter(([k]) => k.includes('aborted'))
        .reduce((a, [, v]) => a + v, 0);
    const started = Date.now();
    try {
      // 500 streams: each caller leaves at a random moment, before or after the stream started.
      let n = 0;
      await runLanes(
        CONCURRENCY,
        async () => {
          const i = n++;
          if (i >= STREAMS) return;
          const symbol = SYMBOLS[i % SYMBOLS.length];
          const path = `/market/data?symbol=${symbol}`;
          const sse = { accept: 'text/event-stream' };
          outcomes.add(`stream ${await abortedRequest(stack.proxyUrl, path, sse, 5 + ((i * 37) % 150))}`);
        },
        { stop: () => n >= STREAMS, maxIterations: STREAMS },
      );

      // Then requests that wait on a slow IB (snapshots, contract details, account summaries) until 1,000
      // requests in all were aborted: one that joined an identical request already in flight may be answered
      // before its caller leaves, and does not count.
      sim.control.delayReplies(REPLY_DELAY_MS);
      let m = 0;
      await runLanes(
        CONCURRENCY,
        async () => {
          const i = m++;
          const symbol = SYMBOLS[i % SYMBOLS.length];
          const path = [
            `/market/data?symbol=${symbol}`,
            `/contract?symbol=${symbol}`,
            `/account/summary?tags=NetLiquidation`,
          ][i % 3]!;
          outcomes.add(`slow ${await abortedRequest(stack.proxyUrl, path, {}, 20 + ((i * 53) % 200))}`);
        },
        { stop: () => abortedCount() >= STREAMS + SLOW, maxIterations: SLOW },
      );
    } finally {
      sim.control.delayReplies(0);
    }
    const abortedMs = Date.now() - started;
    assert.ok(
      abortedCount() >= STREAMS + SLOW,
      `1,000 requests aborted while still running: ${JSON.stringify(outcomes.counts)}`,
    );

    // Everything is released once the delayed IB answers have drained.
    const settleStart = Date.now();
    let proxyMetrics = '';
    await eventually(
      async () => {
        proxyMetrics = (await rawRequest(stack.proxyUrl, { path: '/metrics' })).text;
        const gauge = proxyMetrics.split('\n').filter((l) => /^ibproxy_requests_in_flight\{/.test(l) && !/ 0$/.test(l));
        const clients = (await rawRequest(stack.proxyUrl, { path: '/clients' })).text;
        assert.equal(
          metricSum(proxyMetrics, 'ibproxy_requests_in_flight'),
          0,
          `ibproxy_requests_in_flight back to 0: ${gauge.join('; ')} ${gauge.length > 0 ? clients : ''}`,
        );
      },
      10_000,
      100,
    );
    const inFlightZeroMs = Date.now() - settleStart;
    await eventually(
      () => {
        const subs = sim.control.activeSubscriptions();
        assert.equal(subs.marketData, 0, 'no market-data subscription left at IB');
        assert.equal(sim.control.activeMarketDataLines(), 0, 'no market-data line held at IB');
      },
      10_000,
      100,
    );
    const ibClearMs = Date.now() - settleStart;
    const workerGauges: Record<string, { lines: number; ibSubscriptions: number }> = {};
    await eventually(
      async () => {
        for (const w of stack.workers) {
          const text = (await rawRequest(w.url, { path: '/metrics' })).text;
          workerGauges[`worker${w.clientId}`] = {
            lines: metricSum(text, 'ibworker_market_data_lines_in_use'),
            ibSubscriptions: metricSum(text, 'ibworker_feed_ib_subscriptions'),
          };
          assert.equal(metricSum(text, 'ibworker_market_data_lines_in_use'), 0, `worker${w.clientId} holds no line`);
          assert.equal(
            metricSum(text, 'ibworker_feed_ib_subscriptions'),
            0,
            `worker${w.clientId} holds no feed subscription`,
          );
        }
      },
      10_000,
      200,
    );
    const budgets = (await rawRequest(stack.proxyUrl, { path: '/clients' })).json.budgets;
    assert.equal(budgets.marketDataLines.inUse, 0, 'the proxy’s pool-wide line budget is free again');
    assert.equal(budgets.marketDataLines.streams, 0);
    let after: Record<string, number> = {};
    await eventually(
      () => {
        after = fds();
        for (const [name, count] of Object.entries(after))
          assert.ok(count <= baseline[name]! + FD_SLACK, `${name}: ${count} descriptors, baseline ${baseline[name]}`);
      },
      15_000,
      250,
    );
    const fdSettledMs = Date.now() - settleStart;
    sim.control.events.off('message', onMessage);
    assert.ok(
      streamed.req > 0 && streamed.cancel >= streamed.req,
      `every streaming request cancelled at IB (${streamed.req} requests, ${streamed.cancel} cancels)`,
    );

    // Still serving normally afterwards.
    assert.equal((await rawRequest(stack.proxyUrl, { path: '/market/data?symbol=AAPL' })).status, 200);
    assert.equal((await rawRequest(stack.proxyUrl, { path: '/health/ready' })).status, 200);

    printFigures('client-aborts', {
      workers: WORKERS,
      requestsAborted: abortedCount(),
      requestsSent: outcomes.total(),
      concurrency: CONCURRENCY,
      replyDelayMs: REPLY_DELAY_MS,
      outcomes: outcomes.counts,
      abortRunMs: abortedMs,
      proxyAnswered499: metricSum(proxyMetrics, 'ibproxy_requests_total', 'code="499"'),
      inFlightZeroAfterMs: inFlightZeroMs,
      ibSubscriptionsClearAfterMs: ibClearMs,
      fdSettledAfterMs: fdSettledMs,
      fdBaseline: baseline,
      fdAfter: after,
      streamingRequestsAtIb: streamed.req,
      cancelsAtIb: streamed.cancel,
      workerGauges,
    });
  });
});
