import { request, keepAliveAgent } from './http.mjs';
import { startHaproxy } from './haproxy.mjs';
import { startBenchStack } from './stack.mjs';
import { runWrk } from './wrk.mjs';
import { spread, sleep } from './stats.mjs';

export const RESTING_ORDER = {
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'LMT', lmtPrice: 100, totalQuantity: 1, tif: 'DAY' },
};

/**
 * Benchmarks 1 and 2 share one interleaved matrix: for each connection count and repetition, every target
 * (our proxy, HAProxy, one worker directly) is loaded in turn, in an order rotated per repetition, so slow
 * drift of this shared machine spreads over all of them.
 */
export async function runLoadMatrix(ctx, { paths, connections, lightConnections }) {
  const { wrkPath, haproxyPath, quick, log } = ctx;
  const reps = quick ? 2 : 3;
  const durationS = quick ? 1 : 3;
  const stack = await startBenchStack();
  let haproxy;
  try {
    // Open orders in the mirror, so GET /order lists something.
    const agent = keepAliveAgent(4);
    for (let i = 0; i < 20; i++) {
      const r = await request(`${stack.proxy.url}/order`, {
        method: 'POST',
        body: { ...RESTING_ORDER, order: { ...RESTING_ORDER.order, lmtPrice: 100 + i } },
        agent,
      });
      if (r.status !== 201) throw new Error(`seeding orders failed: ${r.status} ${r.text}`);
    }
    agent.destroy();
    if (haproxyPath) haproxy = await startHaproxy(haproxyPath, stack.workers);
    else log('HAProxy missing: the HAProxy reference is skipped');

    const direct = { '/order': stack.workers[0].url, '/account/positions': stack.workers[1].url };
    // The same proxy with access logging off, to show what the per-request log line costs.
    const quiet = await stack.startProxy('proxy-warn', { LOG_LEVEL: 'warn' });
    const targets = [
      { name: 'ibrest', base: () => stack.proxy.url },
      { name: 'ibrest-nolog', base: () => quiet.url, only: '/account/positions' },
      ...(haproxy ? [{ name: 'haproxy', base: () => haproxy.url }] : []),
      { name: 'direct', base: (path) => direct[path] },
    ];
    const bodyBytes = {};
    for (const path of paths) {
      const r = await request(`${stack.proxy.url}${path}`);
      if (r.status !== 200) throw new Error(`GET ${path} via proxy answered ${r.status}: ${r.text.slice(0, 200)}`);
      bodyBytes[path] = Buffer.byteLength(r.text);
      for (const t of targets.filter((x) => !x.only || x.only === path))
        await runWrk(wrkPath, { url: `${t.base(path)}${path}`, connections: 16, durationS: 1 });
    }

    const runs = [];
    const plan = [];
    for (const path of paths) {
      const conns = path === '/account/positions' ? [...lightConnections, ...connections] : connections;
      for (const c of conns) for (let rep = 0; rep < reps; rep++) plan.push({ path, c, rep });
    }
    let i = 0;
    for (const { path, c, rep } of plan) {
      const here = targets.filter((t) => !t.only || t.only === path);
      const order = here.map((_, k) => here[(k + rep) % here.length]);
      for (const t of order) {
        const url = `${t.base(path)}${path}`;
        const r = await runWrk(wrkPath, { url, connections: c, durationS });
        runs.push({ target: t.name, path, rep, url, ...r });
        const errs = Object.values(r.errors).reduce((a, b) => a + b, 0);
        const errorsShown = errs ? `  errors ${JSON.stringify(r.errors)}` : '';
        log(
          `  [${++i}] ${t.name.padEnd(12)} ${path.padEnd(18)} c=${String(c).padEnd(3)} ` +
            `${Math.round(r.rps).toString().padStart(6)} req/s  ` +
            `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${errorsShown}`,
        );
        await sleep(200);
      }
    }
    return { runs, reps, durationS, bodyBytes, targets: targets.map((t) => t.name), direct };
  } finally {
    await haproxy?.stop();
    await stack.stop();
  }
}

/** Medians (min–max) per target, path and connection count; ratios are taken per repetition, then summarised. */
export function summarise(runs) {
  const keys = new Map();
  for (const r of runs) {
    const k = `${r.target}|${r.path}|${r.connections}`;
    if (!keys.has(k)) keys.set(k, []);
    keys.get(k).push(r);
  }
  const out = [];
  for (const [k, list] of keys) {
    const [target, path, c] = k.split('|');
    out.push({
      target,
      path,
      connections: Number(c),
      rps: spread(list.map((r) => r.rps)),
      p50Ms: spread(list.map((r) => r.p50Ms)),
      p99Ms: spread(list.map((r) => r.p99Ms)),
      errors: list.reduce((a, r) => a + Object.values(r.errors).reduce((x, y) => x + y, 0), 0),
    });
  }
  return out;
}

/** Per-repetition ratio or difference of a figure between two targets at the same path and connections. */
export function paired(runs, a, b, path, c, fn) {
  const byRep = (t) =>
    new Map(runs.filter((r) => r.target === t && r.path === path && r.connections === c).map((r) => [r.rep, r]));
  const A = byRep(a);
  const B = byRep(b);
  return spread([...A.keys()].filter((rep) => B.has(rep)).map((rep) => fn(A.get(rep), B.get(rep))));
}
