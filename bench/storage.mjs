#!/usr/bin/env node
/**
 * Order storage benchmark: `node bench/storage.mjs [--quick]` (after `npx tsc --build`).
 *
 * Compares the order journal on node:sqlite (WAL, synchronous=FULL: every commit fsynced) with the reference it
 * replaced, a JSON-lines file with group commit (appends that arrive during a write+fdatasync are written by the
 * next single write and fdatasync), in the same run, on the same filesystem, alternating which goes first. Only
 * the ratios carry meaning on a shared machine. Writes bench/results/storage.json and bench/storage.md (included in
 * bench/README.md by the report).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { createOrderJournal } from '../packages/order-safety/dist/src/index.js';
import { machineInfo } from './lib/machine.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const REPS = quick ? 2 : 5;
const N = quick ? 500 : 2000;
const OPEN_EVENTS = quick ? 20_000 : 100_000;
const log = (msg) => process.stdout.write(`${msg}\n`);

/** The reference: the JSON-lines group-commit file the journal used before node:sqlite. */
async function openReference(path) {
  const handle = await open(path, 'a');
  let queue = [];
  let writing = false;
  let cursor = 0;
  const drain = async () => {
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      await handle.write(Buffer.from(batch.map((b) => b.line).join('')));
      await handle.datasync();
      for (const b of batch) b.resolve(b.cursor);
    }
    writing = false;
  };
  return {
    append(fields) {
      cursor++;
      const entry = { cursor, time: new Date().toISOString(), ...fields };
      return new Promise((resolve) => {
        queue.push({ line: `${JSON.stringify(entry)}\n`, cursor, resolve });
        if (!writing) void drain();
      });
    },
    close: () => handle.close(),
  };
}

const event = (i) => ({
  type: 'status',
  orderId: i,
  clientId: 0,
  permId: 1_000_000 + i,
  status: 'Submitted',
  data: { filled: 0, remaining: 10, avgFillPrice: 0 },
});

async function sequential(store) {
  const t = performance.now();
  for (let i = 0; i < N; i++) await store.append(event(i));
  return N / ((performance.now() - t) / 1000);
}

async function lanes(store, count) {
  const per = Math.floor(N / count);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, lane) => {
      for (let i = 0; i < per; i++) await store.append(event(lane * per + i));
    }),
  );
  return (per * count) / ((performance.now() - t) / 1000);
}

async function burst(store) {
  const t = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => store.append(event(i))));
  return N / ((performance.now() - t) / 1000);
}

const engines = {
  sqlite: async (dir) => createOrderJournal({ dir }),
  reference: async (dir) => openReference(join(dir, 'orders.jsonl')),
};
const scenarios = {
  'sequential (1 writer)': sequential,
  '8 writers': (s) => lanes(s, 8),
  [`burst of ${N}`]: burst,
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = mkdtempSync(join(tmpdir(), 'ibrest-bench-storage-'));
const results = { quick, reps: REPS, appends: N, scenarios: {}, open: {} };
try {
  for (const [name, run] of Object.entries(scenarios)) {
    const runs = { sqlite: [], reference: [] };
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ['sqlite', 'reference'] : ['reference', 'sqlite'];
      for (const engine of order) {
        const dir = mkdtempSync(join(base, `${engine}-`));
        const store = await engines[engine](dir);
        runs[engine].push(await run(store));
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const ratio = median(runs.sqlite) / median(runs.reference);
    results.scenarios[name] = { sqlite: runs.sqlite, reference: runs.reference, ratio };
    const [a, b] = [median(runs.sqlite), median(runs.reference)].map(Math.round);
    log(`${name.padEnd(24)} sqlite ${a}/s  reference ${b}/s  ratio ${ratio.toFixed(2)}`);
  }

  // Why WAL: raw node:sqlite commits/s (one row, synchronous=FULL, exclusive locking) per journal mode.
  results.journalModes = {};
  for (let rep = 0; rep < REPS; rep++) {
    for (const mode of rep % 2 === 0 ? ['WAL', 'DELETE'] : ['DELETE', 'WAL']) {
      const dir = mkdtempSync(join(base, `mode-${mode}-`));
      const db = new DatabaseSync(join(dir, 'm.db'));
      db.exec(`PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=${mode}; PRAGMA synchronous=FULL;
        CREATE TABLE log (cursor INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, crc INTEGER NOT NULL)`);
      const insert = db.prepare('INSERT INTO log (body, crc) VALUES (?, ?)');
      const body = JSON.stringify(event(1));
      const n = Math.floor(N / 4);
      const t = performance.now();
      for (let i = 0; i < n; i++) {
        db.exec('BEGIN IMMEDIATE');
        insert.run(body, i);
        db.exec('COMMIT');
      }
      (results.journalModes[mode] ??= []).push(n / ((performance.now() - t) / 1000));
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const [wal, del] = [median(results.journalModes.WAL), median(results.journalModes.DELETE)].map(Math.round);
  log(`journal_mode WAL ${wal}/s, DELETE ${del}/s`);

  // Start-up cost: opening a journal of OPEN_EVENTS events checks the file (quick_check or integrity_check) and
  // the CRC of every row. Built with fsync off (speed of building is not what is measured here).
  const dir = mkdtempSync(join(base, 'open-'));
  let journal = await createOrderJournal({ dir, fsync: false });
  for (let i = 0; i < OPEN_EVENTS; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => journal.append(event(i + j))));
  }
  await journal.close();
  const bytes = statSync(join(dir, 'orders.db')).size;
  for (const full of [false, true]) {
    const times = [];
    for (let rep = 0; rep < REPS; rep++) {
      const t = performance.now();
      journal = await createOrderJournal({ dir, fullIntegrityCheck: full });
      times.push(performance.now() - t);
      await journal.close();
    }
    results.open[full ? 'integrity_check' : 'quick_check'] = { events: OPEN_EVENTS, ms: times, bytes };
    log(`open ${OPEN_EVENTS} events with ${full ? 'integrity_check' : 'quick_check'}: ${Math.round(median(times))} ms`);
  }
  const jsonLine = `${JSON.stringify({ cursor: OPEN_EVENTS, time: new Date().toISOString(), ...event(1) })}\n`;
  results.bytesPerEvent = { sqlite: bytes / OPEN_EVENTS, jsonl: Buffer.byteLength(jsonLine) };
} finally {
  rmSync(base, { recursive: true, force: true });
}

results.machine = machineInfo({});
results.at = new Date().toISOString();
writeFileSync(join(HERE, 'results', 'storage.json'), `${JSON.stringify(results, null, 2)}\n`);
const num = (x) => Math.round(x).toLocaleString('en-US');
const fmt = (xs) => `${num(median(xs))} (${num(Math.min(...xs))}–${num(Math.max(...xs))})`;
const modeRatio = (median(results.journalModes.WAL) / median(results.journalModes.DELETE)).toFixed(1);
const q = results.open.quick_check;
const md = [
  '## Order storage (node:sqlite against the JSON-lines group-commit file it replaced)',
  '',
  `\`node bench/storage.mjs${quick ? ' --quick' : ''}\`, ${results.at.slice(0, 16).replace('T', ' ')} UTC, ` +
    `${REPS} repetitions alternating`,
  `which engine goes first, ${N} fsynced appends each, on ${tmpdir()} ` +
    `(${results.machine.nproc} × ${results.machine.cpuModel}).`,
  'Raw: [results/storage.json](results/storage.json).',
  '',
  '| scenario | node:sqlite appends/s | reference appends/s | ratio |',
  '| --- | --- | --- | --- |',
  ...Object.entries(results.scenarios).map(
    ([name, r]) => `| ${name} | ${fmt(r.sqlite)} | ${fmt(r.reference)} | ${r.ratio.toFixed(2)} |`,
  ),
  '',
  'Why WAL: raw node:sqlite commits of one row with synchronous=FULL,',
  `${fmt(results.journalModes.WAL)}/s in WAL mode against ${fmt(results.journalModes.DELETE)}/s`,
  `with a rollback journal (DELETE), ratio ${modeRatio}.`,
  '',
  `Opening a journal of ${num(OPEN_EVENTS)} events (${(q.bytes / 1e6).toFixed(1)} MB,`,
  `${Math.round(results.bytesPerEvent.sqlite)} bytes per event against ${results.bytesPerEvent.jsonl} as a JSON line)`,
  `takes ${fmt(q.ms)} ms with \`quick_check\` + the CRC of every row,`,
  `${fmt(results.open.integrity_check.ms)} ms with \`integrity_check\`.`,
  '',
].join('\n');
writeFileSync(join(HERE, 'storage.md'), md);
log(`wrote bench/results/storage.json and bench/storage.md`);
