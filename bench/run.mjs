#!/usr/bin/env node
/**
 * ibrest benchmarks: `npm run bench` (all five), or `node bench/run.mjs --only reads,proxy --quick`.
 * Everything runs on 127.0.0.1; each benchmark starts what it needs and stops it again. Raw results go to
 * bench/results/*.json, the summary to bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paired, runLoadMatrix, summarise } from './lib/bench-load.mjs';
import { benchBudget } from './lib/bench-budget.mjs';
import { benchOrders } from './lib/bench-orders.mjs';
import { benchMemory } from './lib/bench-memory.mjs';
import { machineInfo } from './lib/machine.mjs';
import { plotSvg } from './lib/svg.mjs';
import { writeReadme } from './lib/report.mjs';
import { findTool } from './lib/wrk.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const ALL = ['reads', 'proxy', 'budget', 'orders', 'memory'];

function parseArgs(argv) {
  const opts = { only: ALL, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      opts.only = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = opts.only.filter((s) => !ALL.includes(s));
      if (bad.length || opts.only.length === 0)
        throw new Error(`Expected --only to list some of ${ALL.join(', ')}, got ${JSON.stringify(v)}`);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node bench/run.mjs [--quick] [--only ${ALL.join(',')}]\n`);
      process.exit(0);
    } else throw new Error(`Unknown argument ${JSON.stringify(a)} (try --help)`);
  }
  return opts;
}

const log = (msg) => process.stdout.write(`${msg}\n`);
const save = (name, data) => writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const command = `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  mkdirSync(RESULTS, { recursive: true });
  const wrkPath = findTool('wrk', 'wrk', log);
  const haproxyPath = findTool('haproxy', 'haproxy', log);
  const machine = machineInfo({ wrkPath, haproxyPath });
  const started = new Date();
  const meta = { command, quick: opts.quick, startedAt: started.toISOString(), machine };
  log(
    `ibrest benchmarks (${opts.quick ? 'quick' : 'full'}): ${opts.only.join(', ')} ` +
      `on ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}`,
  );
  const ctx = { quick: opts.quick, log, wrkPath, haproxyPath };
  const t0 = Date.now();

  if (opts.only.includes('reads') || opts.only.includes('proxy')) {
    if (!wrkPath) log('wrk is missing: benchmarks 1 and 2 are skipped');
    else {
      const paths = opts.only.includes('reads') ? ['/account/positions', '/order'] : ['/account/positions'];
      log(`\n[1+2] cached reads and proxy overhead (${paths.join(', ')})`);
      const m = await runLoadMatrix(ctx, { paths, connections: [16, 64, 256], lightConnections: [1] });
      const summary = summarise(m.runs);
      const compare = {};
      for (const c of [1, 16, 64, 256]) {
        const p = '/account/positions';
        compare[c] = {
          rpsVsHaproxy: m.targets.includes('haproxy')
            ? paired(m.runs, 'ibrest', 'haproxy', p, c, (a, b) => a.rps / b.rps)
            : undefined,
          rpsNologVsHaproxy: m.targets.includes('haproxy')
            ? paired(m.runs, 'ibrest-nolog', 'haproxy', p, c, (a, b) => a.rps / b.rps)
            : undefined,
          p50AddedOverDirectMs: paired(m.runs, 'ibrest', 'direct', p, c, (a, b) => a.p50Ms - b.p50Ms),
          p50AddedNologOverDirectMs: paired(m.runs, 'ibrest-nolog', 'direct', p, c, (a, b) => a.p50Ms - b.p50Ms),
          haproxyP50AddedOverDirectMs: m.targets.includes('haproxy')
            ? paired(m.runs, 'haproxy', 'direct', p, c, (a, b) => a.p50Ms - b.p50Ms)
            : undefined,
        };
      }
      const series = m.targets.map((name) => ({
        name,
        points: summary
          .filter((s) => s.target === name && s.path === '/account/positions' && s.connections >= 16)
          .sort((a, b) => a.connections - b.connections)
          .map((s) => ({ x: s.connections, rps: s.rps.median, p99Ms: s.p99Ms.median })),
      }));
      writeFileSync(
        join(RESULTS, 'load.svg'),
        plotSvg(series, 'GET /account/positions: ibrest proxy vs HAProxy vs one worker directly'),
      );
      save('load', {
        ...meta,
        reps: m.reps,
        durationS: m.durationS,
        bodyBytes: m.bodyBytes,
        direct: m.direct,
        targets: m.targets,
        summary,
        compare,
        runs: m.runs,
      });
    }
  }
  if (opts.only.includes('budget')) {
    log('\n[3] IB budget use');
    save('budget', { ...meta, ...(await benchBudget(ctx)) });
  }
  if (opts.only.includes('orders')) {
    log('\n[4] order acknowledgement');
    save('orders', { ...meta, ...(await benchOrders(ctx)) });
  }
  if (opts.only.includes('memory')) {
    if (!wrkPath) log('wrk is missing: benchmark 5 is skipped');
    else {
      log('\n[5] memory and leaks');
      save('memory', { ...meta, ...(await benchMemory(ctx)) });
    }
  }
  const elapsed = (Date.now() - t0) / 1000;
  writeReadme(HERE, RESULTS);
  log(`\ndone in ${elapsed.toFixed(0)} s; results in bench/results/, summary in bench/README.md`);
}

main().catch((err) => {
  process.stderr.write(
    `${/^(Expected|Unknown argument)/.test(err.message ?? '') ? err.message : (err.stack ?? err)}\n`,
  );
  process.exit(1);
});
