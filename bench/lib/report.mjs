import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtSpread, round } from './stats.mjs';
import { REASONS } from './reasons.mjs';

const load = (dir, name) => {
  const p = join(dir, `${name}.json`);
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : undefined;
};
const f = (x, d = 2) =>
  Number.isFinite(x) ? round(x, d).toLocaleString('en-US', { maximumFractionDigits: d }) : 'n/a';
const mark = (ok) => (ok === undefined ? '—' : ok ? 'met' : '**missed**');
const row = (cells) => `| ${cells.join(' | ')} |`;
const stamp = (r) =>
  `${r.quick ? 'quick' : 'full'} run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\``;

function targetRow(what, target, measured, ok, reasonKey) {
  return row([
    what,
    target,
    measured,
    mark(ok) + (ok === false && REASONS[reasonKey] ? ` (see [why](#${reasonKey}))` : ''),
  ]);
}

function machineSection(r) {
  const m = r.machine;
  return [
    `- ${m.nproc} × ${m.cpuModel}, ${m.memoryGB} GB, ${m.os}; ` +
      `load average at start ${m.loadAverageAtStart.join(' / ')} (the cores are shared with other work)`,
    `- Node ${m.node}, wrk ${m.wrk}, HAProxy ${m.haproxy}, @stoqey/ib ${m.stoqeyIb}, http-proxy-3 ${m.httpProxy3}`,
  ].join('\n');
}

function loadSection(r, out, targets) {
  const s = (t, p, c) => r.summary.find((x) => x.target === t && x.path === p && x.connections === c);
  out.push(
    `### 1–2. Cached reads and proxy overhead (${stamp(r)})`,
    '',
    `wrk, ${r.durationS} s per run, ${r.reps} interleaved repetitions per cell; medians with (min–max). Bodies: ` +
      Object.entries(r.bodyBytes)
        .map(([p, b]) => `\`GET ${p}\` ${b} bytes`)
        .join(', ') +
      `. "direct" is one worker (${Object.entries(r.direct)
        .map(([p, u]) => `${p} → ${u.replace(/.*:/, 'port ')}`)
        .join(', ')}); ` +
      '"ibrest" is the proxy with its default `LOG_LEVEL=info` (one access-log line per request), ' +
      '"ibrest-nolog" the same proxy with `LOG_LEVEL=warn`.',
    '',
    row(['target', 'path', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'errors']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const x of [...r.summary].sort(
    (a, b) => a.path.localeCompare(b.path) || a.connections - b.connections || a.target.localeCompare(b.target),
  )) {
    out.push(
      row([
        x.target,
        `\`${x.path}\``,
        x.connections,
        fmtSpread(x.rps, 0),
        fmtSpread(x.p50Ms),
        fmtSpread(x.p99Ms),
        x.errors,
      ]),
    );
  }
  out.push('', '![req/s and p99 against connections](results/load.svg)', '');
  const pos = s('ibrest', '/account/positions', 64);
  const ord = s('ibrest', '/order', 64);
  if (pos) {
    targets.push(
      targetRow(
        '1. reads, `GET /account/positions`, 64 connections',
        '≥ 10,000 req/s',
        `${fmtSpread(pos.rps, 0)} req/s`,
        pos.rps.median >= 10_000,
        'reads-throughput',
      ),
    );
    targets.push(
      targetRow(
        '1. reads, `GET /account/positions`, 64 connections',
        'p99 ≤ 20 ms',
        `${fmtSpread(pos.p99Ms)} ms`,
        pos.p99Ms.median <= 20,
        'reads-throughput',
      ),
    );
  }
  if (ord) {
    targets.push(
      targetRow(
        '1. reads, `GET /order`, 64 connections',
        '≥ 10,000 req/s',
        `${fmtSpread(ord.rps, 0)} req/s`,
        ord.rps.median >= 10_000,
        'reads-throughput',
      ),
    );
    targets.push(
      targetRow(
        '1. reads, `GET /order`, 64 connections',
        'p99 ≤ 20 ms',
        `${fmtSpread(ord.p99Ms)} ms`,
        ord.p99Ms.median <= 20,
        'reads-throughput',
      ),
    );
  }
  const c64 = r.compare?.[64];
  const c16 = r.compare?.[16];
  if (c64?.rpsVsHaproxy) {
    for (const c of [16, 64, 256]) {
      const v = r.compare[c].rpsVsHaproxy;
      targets.push(
        targetRow(
          `2. our req/s ÷ HAProxy's, ${c} connections`,
          '≥ 0.5',
          `${fmtSpread(v)} (access log off: ${fmtSpread(r.compare[c].rpsNologVsHaproxy)})`,
          v.median >= 0.5,
          'proxy-ratio',
        ),
      );
    }
  }
  if (c16) {
    targets.push(
      targetRow(
        '2. p50 added over direct, 16 connections',
        '≤ 0.5 ms',
        `${fmtSpread(c16.p50AddedOverDirectMs)} ms (access log off: ${fmtSpread(c16.p50AddedNologOverDirectMs)}; ` +
          `HAProxy: ${fmtSpread(c16.haproxyP50AddedOverDirectMs)})`,
        c16.p50AddedOverDirectMs.median <= 0.5,
        'proxy-latency',
      ),
    );
    const c1 = r.compare[1];
    if (c1)
      out.push(
        `At 1 connection (no queueing) the proxy adds ${fmtSpread(c1.p50AddedOverDirectMs)} ms at p50 over direct ` +
          `(HAProxy: ${fmtSpread(c1.haproxyP50AddedOverDirectMs)} ms).`,
        '',
      );
  }
}

function budgetSection(r, out, targets) {
  out.push(
    `### 3. IB budget use (${stamp(r)})`,
    '',
    "Snapshot (`GET /market/data`) and contract-detail (`GET /contract`) requests for the simulator's 52 " +
      'instruments, plus historical requests for distinct contract × `whatToShow` keys, all fired at once through ' +
      'the proxy (`?timeout=60`). The minimum is the number of messages the read workers sent ÷ their configured ' +
      'aggregate rate (7 read workers × `IB_MSG_RATE`; worker 0 keeps its budget for orders). Budget used = ' +
      'minimum ÷ measured completion time.',
    '',
    row([
      'mode',
      'simulator limit',
      'IB_MSG_RATE per worker',
      'requests',
      'IB messages',
      'completion s',
      'minimum s',
      'budget used',
      'of IB limit',
      'statuses',
      'historical',
      'violations',
    ]),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---', '---']),
  );
  for (const m of r.modes) {
    const hist = m.historical;
    const refused = hist.refused429
      ? `, ${hist.refused429} × 429 (Retry-After ${hist.retryAfterS.min}–${hist.retryAfterS.max} s)`
      : '';
    out.push(
      row([
        m.mode,
        `${m.sim.msgRate}/s ${m.sim.rateMode}`,
        m.workerMsgRate,
        `${m.fast.requests} + ${m.historical.requests} hist.`,
        m.messagesSentByReadWorkers,
        f(m.completionS),
        f(m.theoreticalMinimumS),
        `${f(m.budgetUsedPct, 1)} %`,
        `${f(m.ibLimitUsedPct, 1)} %`,
        JSON.stringify(m.fast.statuses),
        `${hist.served} served${refused}`,
        JSON.stringify(m.violations.byCode),
      ]),
    );
    targets.push(
      targetRow(`3. budget used, ${m.mode}`, '≥ 95 %', `${f(m.budgetUsedPct, 1)} %`, m.budgetUsedPct >= 95, 'budget'),
    );
    const bad = ['100', '101', '162'].reduce((a, k) => a + (m.violations.byCode[k] ?? 0), 0);
    targets.push(targetRow(`3. errors 100/101/162, ${m.mode}`, '0', String(bad), bad === 0, 'budget'));
  }
  const h = r.modes[0]?.historical;
  if (h) {
    out.push(
      '',
      `Historical: IB allows ${r.historicalRules.totalMax} requests ` +
        `per ${r.historicalRules.totalWindowS / 60} minutes, ` +
        `so ${h.requests} requests need at least ${f(h.theoreticalMinimumAllS / 60, 1)} minutes. ` +
        "The worker and the proxy apply IB's own limits and take no override, so a run cannot scale them down: " +
        `the benchmark fires all ${h.requests} at once and checks that the first ${h.servedWithinFirstWindow} ` +
        'are served at once and the rest are refused ' +
        'with 429 and a `Retry-After` up to the next window, never reaching IB.',
      '',
    );
  }
}

function ordersSection(r, out, targets) {
  out.push(
    `### 4. Order acknowledgement (${stamp(r)})`,
    '',
    `${r.ordersPerSide} resting LMT orders per path, ${r.ratePerS} orders/s (below the worker's 40 msg/s pacer), ` +
      `in interleaved blocks of ${r.blockSize}. ` +
      'Latency: request sent → `201` with PreSubmitted/Submitted (HTTP paths), ' +
      '`placeOrder` → first `orderStatus` PreSubmitted/Submitted (@stoqey/ib).',
    '',
    row(['path', 'orders', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'failures']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  const names = {
    ibrest: 'POST /order via proxy → worker 0',
    worker: 'POST /order to worker 0 directly',
    direct: '@stoqey/ib placeOrder (clientId 20)',
  };
  for (const k of ['ibrest', 'worker', 'direct']) {
    const x = r[k];
    if (x) out.push(row([names[k], x.n, f(x.p50Ms), f(x.p90Ms), f(x.p99Ms), f(x.maxMs), r.failures[k]]));
  }
  out.push(
    '',
    `Proxy hop at p50: ${f(r.p50ProxyHopMs)} ms; ` +
      `per-block p50 difference to direct: ${fmtSpread(r.p50DiffPerBlockMs)} ms.`,
    '',
  );
  targets.push(
    targetRow(
      '4. order ack p50, ours − direct',
      '≤ 2 ms',
      `${f(r.p50DiffMs)} ms (per block ${fmtSpread(r.p50DiffPerBlockMs)})`,
      r.p50DiffMs <= 2,
      'orders',
    ),
  );
}

function memorySection(r, out, targets) {
  const b = r.before;
  const a = r.after;
  const z = r.afterAborts;
  const halfStreams = r.aborts.streamingSupported ? 'half SSE streams left after the first event, half ' : '';
  out.push(
    `### 5. Memory and leaks (${stamp(r)})`,
    '',
    `${r.requests.toLocaleString('en-US')} \`GET /account/positions\` through the proxy ` +
      `(wrk, 64 connections, ${f(r.loadSeconds, 0)} s, ${r.loadErrors} errors), then ` +
      `${r.aborts.requested.toLocaleString('en-US')} client aborts (${halfStreams}slow calls: ` +
      'simulator replies delayed 1.5 s, clients leave after 20–200 ms). ' +
      'Heap is read after a forced full GC through the inspector ' +
      '(children started with `NODE_OPTIONS=--inspect=127.0.0.1:0`); RSS and sockets from /proc, ' +
      `each after ${6} s idle. Worker = worker 1 (one of the seven read workers).`,
    '',
    row([
      'process',
      'RSS before',
      'RSS peak under load',
      'RSS after',
      'RSS after aborts',
      'heap before',
      'heap after',
      'heap after aborts',
      'sockets before → after aborts',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const [k, peak] of [
    ['proxy', r.peakDuringLoad.proxyRssMB],
    ['worker1', r.peakDuringLoad.workerRssMB],
  ]) {
    out.push(
      row([
        k,
        `${f(b[k].rssMB, 1)} MB`,
        `${f(peak, 1)} MB`,
        `${f(a[k].rssMB, 1)} MB`,
        `${f(z[k].rssMB, 1)} MB`,
        `${f(b[k].heapUsedMB, 1)} MB`,
        `${f(a[k].heapUsedMB, 1)} MB`,
        `${f(z[k].heapUsedMB, 1)} MB`,
        `${b[k].fds.sockets} → ${z[k].fds.sockets}`,
      ]),
    );
  }
  const ab = r.aborts;
  out.push(
    '',
    `Aborts: ${JSON.stringify(ab.outcomes)}; proxy answered ${ab.proxy499} as 499; ` +
      `\`ibproxy_requests_in_flight\` ${ab.inFlightBefore} → ${ab.inFlightAfter}; ` +
      `worker pacer queue ${ab.workerPacerQueueDepth}; ` +
      `simulator market-data lines in use ${ab.simMarketDataLinesInUse}. ` +
      (ab.streamingSupported
        ? 'Half of the aborts were SSE streams.'
        : 'The worker has no streaming route yet (`/market/data?format=sse` answers JSON), ' +
          'so every abort was a slow call.'),
    '',
  );
  const heapGrowth = (k) => z[k].heapUsedMB - b[k].heapUsedMB;
  targets.push(
    targetRow(
      '5. proxy RSS (peak under load)',
      '≤ 100 MB',
      `${f(r.peakDuringLoad.proxyRssMB, 1)} MB`,
      r.peakDuringLoad.proxyRssMB <= 100,
      'proxy-rss',
    ),
  );
  targets.push(
    targetRow(
      '5. worker RSS (peak under load)',
      '≤ 150 MB',
      `${f(r.peakDuringLoad.workerRssMB, 1)} MB`,
      r.peakDuringLoad.workerRssMB <= 150,
      'worker-rss',
    ),
  );
  targets.push(
    targetRow(
      '5. heap after GC, before → after everything',
      'flat (≤ +2 MB)',
      `proxy ${f(heapGrowth('proxy'), 2)} MB, worker ${f(heapGrowth('worker1'), 2)} MB`,
      heapGrowth('proxy') <= 2 && heapGrowth('worker1') <= 2,
      'heap',
    ),
  );
  const leaks = Math.max(0, ab.leakedSockets.proxy) + Math.max(0, ab.leakedSockets.worker1);
  targets.push(
    targetRow(
      '5. leaked sockets / in-flight after aborts',
      '0 / 0',
      `${leaks} / ${ab.inFlightAfter}`,
      leaks === 0 && ab.inFlightAfter === 0,
      'leaks',
    ),
  );
}

export function writeReadme(benchDir, resultsDir) {
  const rs = {
    load: load(resultsDir, 'load'),
    budget: load(resultsDir, 'budget'),
    orders: load(resultsDir, 'orders'),
    memory: load(resultsDir, 'memory'),
  };
  const any = Object.values(rs).find(Boolean);
  // Hand-written before/after notes of past fixes live in fixes.md and survive every regeneration.
  const fixesFile = join(benchDir, 'fixes.md');
  const fixes = existsSync(fixesFile) ? `${readFileSync(fixesFile, 'utf8').trim()}\n` : '';
  // Written by bench/storage.mjs (its own run, not part of run.mjs's five).
  const storageFile = join(benchDir, 'storage.md');
  const storage = existsSync(storageFile) ? `${readFileSync(storageFile, 'utf8').trim()}\n` : '';
  const out = [];
  const targets = [row(['benchmark', 'target', 'measured', 'result']), row(['---', '---', '---', '---'])];
  if (rs.load) loadSection(rs.load, out, targets);
  if (rs.budget) budgetSection(rs.budget, out, targets);
  if (rs.orders) ordersSection(rs.orders, out, targets);
  if (rs.memory) memorySection(rs.memory, out, targets);
  const missed = new Set(targets.filter((t) => t.includes('(see [why](#')).map((t) => /\(#([a-z-]+)\)/.exec(t)[1]));
  const why = [...missed].map((k) => `<a id="${k}"></a>**${REASONS[k].title}.** ${REASONS[k].text}`);
  const readme = `# ibrest benchmarks

Measures the stack against what a user would run instead, in the same run on the same machine: HAProxy (one
thread, keep-alive and \`http-reuse always\` to the same eight workers, same routing split: order paths → worker 0,
everything else \`leastconn\` over workers 1–7) and a single worker addressed directly. This machine is shared and
noisy, so only ratios against the reference measured in the same run carry meaning; absolute figures vary.

## Running

\`\`\`sh
npm run bench                                   # build, then all five benchmarks (≈ 15 min on 2 cores)
node bench/run.mjs --only reads,proxy --quick   # a fast subset (≈ 1–3 min); \
--only takes reads, proxy, budget, orders, memory
\`\`\`

Requirements: Debian's \`wrk\` and \`haproxy\` (the script runs \`apt-get install\` when they are missing and it runs
as root; otherwise it skips what needs them and says so). Everything listens on 127.0.0.1 and port numbers
are chosen at run time. Each benchmark starts the simulator (in the bench process, so its counters can be
read), eight worker processes (clientIds 0–7, \`LOG_LEVEL=warn\`) and the proxy, and stops them afterwards.
Children's logs go to files in a temporary directory, not through the benchmark process.
\`--quick\` runs 2 repetitions of 2 s instead of 3 of 4 s, 300 + 60 budget requests instead of 1,000 + 200,
200 orders per path instead of 1,000, and 100,000 requests / 2,000 aborts instead of 1,000,000 / 10,000.

Raw results: [results/](results/) (\`load.json\` with every wrk run, \`budget.json\`, \`orders.json\`,
\`memory.json\` with the RSS samples), plot: [results/load.svg](results/load.svg).

## Machine

${any ? machineSection(any) : 'no results yet'}

## Targets

${targets.join('\n')}

${why.length ? `### Why targets were missed\n\n${why.join('\n\n')}\n` : ''}
${fixes}
${storage ? `${storage}\n` : ''}## Results

${out.join('\n')}
`;
  writeFileSync(join(benchDir, 'README.md'), readme);
}
