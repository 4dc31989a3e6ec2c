#!/usr/bin/env node
// Runs the README's test command N times in a row, optionally with CPU burners beside it (a loaded machine),
// and prints one line per run plus a summary. Stops at the first failing run unless --keep-going.
//
//   node test/repeat.mjs [--runs 5] [--burners 1] [--keep-going] [--log-dir DIR]
//
// Each run's full output goes to DIR/run-<n>.log (default: a fresh directory under the OS temp dir).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, createWriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    burners: { type: 'string', default: '0' },
    'keep-going': { type: 'boolean', default: false },
    'log-dir': { type: 'string' },
  },
});
const runs = Number(values.runs);
const burnerCount = Number(values.burners);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`Expected --runs to be a positive integer, got ${values.runs}`);
if (!Number.isInteger(burnerCount) || burnerCount < 0) {
  throw new Error(`Expected --burners to be a whole number, got ${values.burners}`);
}
const logDir = values['log-dir'] ?? mkdtempSync(join(tmpdir(), 'ibrest-repeat-'));
mkdirSync(logDir, { recursive: true });

// A burner is a child spinning one core until this script ends.
const burners = Array.from({ length: burnerCount }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopBurners = () => burners.forEach((b) => b.kill('SIGKILL'));
process.on('exit', stopBurners);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let passed = 0;
for (let n = 1; n <= runs; n++) {
  const log = join(logDir, `run-${n}.log`);
  const started = Date.now();
  const out = createWriteStream(log);
  const child = spawn(npm, ['test'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      out.write(chunk);
      text += chunk.toString('utf8');
      if (text.length > 1_000_000) text = text.slice(-100_000);
    });
  }
  const code = await new Promise((resolve) => child.on('close', resolve));
  out.end();
  // node:test's summary lines, "ℹ pass 751" (spec reporter) or "# pass 751" (TAP); the last is the whole run's.
  const count = (label) => [...text.matchAll(new RegExp(`^(?:ℹ|#) ${label} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? '?';
  const seconds = Math.round((Date.now() - started) / 1000);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const tally = `${count('pass')} passed, ${count('fail')} failed`;
  console.log(`run ${n}/${runs}: exit ${code}, ${tally}, ${seconds} s, load ${load}, log ${log}`);
  if (code === 0) passed++;
  else if (!values['keep-going']) break;
}
console.log(
  `${passed} of ${runs} runs passed${burnerCount > 0 ? ` with ${burnerCount} CPU burner(s) beside them` : ''}`,
);
stopBurners();
process.exitCode = passed === runs ? 0 : 1;
