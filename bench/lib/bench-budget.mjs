import http from 'node:http';
import { startBenchStack } from './stack.mjs';
import { sleep } from './stats.mjs';

const SIM_MSG_RATE = 50;
const WORKER_RATE_PER_CONNECTION = 40;
const WORKERS = 8;
/** Worker 0 keeps its budget for orders; the proxy balances reads over the others. */
const READ_WORKERS = WORKERS - 1;
const WHAT = ['TRADES', 'MIDPOINT', 'BID', 'ASK'];
/** IB's historical rules for bars of 30 s or less, which the proxy applies pool-wide (no override). */
const HIST = { totalMax: 60, totalWindowS: 600 };

/** Messages that carry a request (not the session set-up or cancels). */
const REQUEST_MSGS = new Set(['REQ_MKT_DATA', 'REQ_CONTRACT_DATA', 'REQ_HISTORICAL_DATA']);

function fire(url) {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let code;
        try {
          code = JSON.parse(Buffer.concat(chunks).toString()).error?.code;
        } catch {
          code = undefined;
        }
        resolve({
          status: res.statusCode,
          code,
          retryAfter: Number(res.headers['retry-after'] ?? NaN),
          start,
          end: performance.now(),
        });
      });
    });
    req.on('error', (err) => resolve({ status: 0, code: err.code, start, end: performance.now() }));
  });
}

/** Theoretical minimum time of `n` historical requests under "totalMax per totalWindow" (all distinct contracts). */
export function historicalMinimumS(n) {
  return Math.max(0, Math.ceil(n / HIST.totalMax) - 1) * HIST.totalWindowS;
}

async function runMode(ctx, mode) {
  const { quick, log } = ctx;
  const nFast = quick ? 300 : 1000;
  const nHist = quick ? 60 : 200;
  const workerRate =
    mode === 'combined' ? Math.floor(WORKER_RATE_PER_CONNECTION / WORKERS) : WORKER_RATE_PER_CONNECTION;
  const stack = await startBenchStack({
    sim: { msgRate: SIM_MSG_RATE, rateMode: mode === 'combined' ? 'combined' : 'per-client' },
    workerEnv: { IB_MSG_RATE: String(workerRate) },
    proxyLogLevel: 'warn',
  });
  try {
    const contracts = stack.sim.sim.engine.catalogue.all.map((c) => c.conId);
    await sleep(500);
    stack.sim.control.resetViolations();
    const messages = [];
    const onMessage = (m) => messages.push({ t: performance.now(), clientId: m.clientId, name: m.name });
    stack.sim.control.events.on('message', onMessage);

    const base = stack.proxy.url;
    const fast = Array.from({ length: nFast }, (_, i) => {
      const conId = contracts[i % contracts.length];
      return i % 2 === 0
        ? `${base}/market/data?conId=${conId}&timeout=60`
        : `${base}/contract?conId=${conId}&timeout=60`;
    });
    // Distinct contract keys (conId × whatToShow), so only the 60-per-10-minutes rule binds; 30-s bars, the
    // bar size IB paces (larger bars are not paced).
    const hist = Array.from(
      { length: nHist },
      (_, i) =>
        `${base}/historical?conId=${contracts[i % contracts.length]}` +
        `&whatToShow=${WHAT[Math.floor(i / contracts.length) % WHAT.length]}` +
        `&durationStr=1800%20S&barSizeSetting=30%20secs&timeout=60`,
    );

    const t0 = performance.now();
    const [fastRes, histRes] = await Promise.all([Promise.all(fast.map(fire)), Promise.all(hist.map(fire))]);
    stack.sim.control.events.off('message', onMessage);
    const violations = stack.sim.control.violations();

    const fastEnd = Math.max(...fastRes.map((r) => r.end)) - t0;
    // The burst is over when the last request that IB could serve has its answer.
    const allEnd = Math.max(...[...fastRes, ...histRes].filter((r) => r.status === 200).map((r) => r.end)) - t0;
    const reqMsgs = messages.filter((m) => m.t >= t0 && REQUEST_MSGS.has(m.name));
    const fastMsgs = reqMsgs.filter((m) => m.name !== 'REQ_HISTORICAL_DATA');
    const histMsgs = reqMsgs.filter((m) => m.name === 'REQ_HISTORICAL_DATA');
    const allAfter = messages.filter((m) => m.t >= t0);
    const byClient = {};
    for (const m of allAfter) byClient[m.clientId] = (byClient[m.clientId] ?? 0) + 1;
    const lastMsg = allAfter.length ? Math.max(...allAfter.map((m) => m.t)) - t0 : 0;

    const configuredRate = workerRate * READ_WORKERS;
    const ibRate = mode === 'combined' ? SIM_MSG_RATE : SIM_MSG_RATE * READ_WORKERS;
    // Every message the read workers sent during the burst had to pass their pacers; the burst could not
    // have been shorter than messages / aggregate rate.
    const sentMsgs = allAfter.filter((m) => m.clientId !== 0).length;
    const minimumS = sentMsgs / configuredRate;
    const statusCount = (list) => list.reduce((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    const histServed = histRes.filter((r) => r.status === 200);
    const hist429 = histRes.filter((r) => r.status === 429);
    const result = {
      mode,
      sim: { msgRate: SIM_MSG_RATE, rateMode: mode === 'combined' ? 'combined' : 'per-client' },
      workerMsgRate: workerRate,
      readWorkers: READ_WORKERS,
      configuredRateMsgsPerS: configuredRate,
      ibLimitMsgsPerS: ibRate,
      fast: {
        requests: nFast,
        statuses: statusCount(fastRes),
        completionS: fastEnd / 1000,
        ibRequestMessages: fastMsgs.length,
        coalescedOrCached: nFast - fastMsgs.length,
      },
      messagesSentByReadWorkers: sentMsgs,
      messagesByClient: byClient,
      lastMessageS: lastMsg / 1000,
      theoreticalMinimumS: minimumS,
      completionS: allEnd / 1000,
      budgetUsedPct: (100 * minimumS) / (allEnd / 1000),
      ibLimitUsedPct: (100 * sentMsgs) / (ibRate * (allEnd / 1000)),
      historical: {
        requests: nHist,
        statuses: statusCount(histRes),
        served: histServed.length,
        servedCompletionS: histServed.length ? (Math.max(...histServed.map((r) => r.end)) - t0) / 1000 : NaN,
        ibRequestMessages: histMsgs.length,
        refused429: hist429.length,
        retryAfterS: hist429.length
          ? { min: Math.min(...hist429.map((r) => r.retryAfter)), max: Math.max(...hist429.map((r) => r.retryAfter)) }
          : undefined,
        theoreticalMinimumAllS: historicalMinimumS(nHist),
        servedWithinFirstWindow: Math.min(nHist, HIST.totalMax),
      },
      violations: { total: violations.total, byCode: violations.byCode, recent: violations.recent.slice(0, 5) },
    };
    log(
      `  ${mode}: ${nFast} snapshot/contract + ${histServed.length} historical served ` +
        `in ${result.completionS.toFixed(2)} s (min ${minimumS.toFixed(2)} s ` +
        `from ${sentMsgs} msgs at ${configuredRate}/s → ` +
        `${result.budgetUsedPct.toFixed(1)} % of budget), statuses ${JSON.stringify(result.fast.statuses)}; ` +
        `historical ${JSON.stringify(result.historical.statuses)}; ` +
        `violations ${JSON.stringify(violations.byCode)}`,
    );
    return result;
  } finally {
    await stack.stop();
  }
}

/** Benchmark 3: IB budget use, per-connection and combined message-rate modes. */
export async function benchBudget(ctx) {
  const modes = [];
  for (const mode of ['per-connection', 'combined']) modes.push(await runMode(ctx, mode));
  return { modes, historicalRules: HIST };
}
