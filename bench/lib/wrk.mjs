import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'wrk-json.lua');

/** Path of wrk, installing Debian's package when missing and allowed; undefined when unavailable. */
export function findTool(name, debPackage, log) {
  const candidates = [`/usr/bin/${name}`, `/usr/sbin/${name}`, `/usr/local/bin/${name}`];
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log(`${name} not found: installing Debian package ${debPackage}`);
    try {
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', debPackage], {
        stdio: 'ignore',
        timeout: 180_000,
      });
    } catch {
      try {
        execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000 });
        execFileSync('apt-get', ['install', '-y', '--no-install-recommends', debPackage], {
          stdio: 'ignore',
          timeout: 180_000,
        });
      } catch {
        // reported below
      }
    }
    const again = candidates.find((p) => existsSync(p));
    if (again) return again;
  }
  log(`${name} is not available (install Debian's ${debPackage}); the benchmarks that need it are skipped`);
  return undefined;
}

/**
 * One wrk run against `url`. Returns req/s and latency percentiles in milliseconds, plus socket and
 * non-2xx/3xx error counts (a run with errors is reported, never silently averaged in).
 */
export function runWrk(wrkPath, { url, connections, durationS, threads, method, body, timeoutS = 10 }) {
  const t = Math.max(1, Math.min(threads ?? 2, connections));
  const args = [`-t${t}`, `-c${connections}`, `-d${durationS}s`, `--timeout`, `${timeoutS}s`, '-s', SCRIPT, url];
  const env = { ...process.env };
  if (method) Object.assign(env, { WRK_METHOD: method, WRK_BODY: body ?? '' });
  return new Promise((resolve, reject) => {
    execFile(wrkPath, args, { env, timeout: (durationS + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (!line) {
        reject(new Error(`wrk produced no result (${err?.message ?? 'no error'}): ${stderr || stdout}`));
        return;
      }
      const r = JSON.parse(line.slice(8));
      const seconds = r.duration_us / 1e6;
      resolve({
        connections,
        durationS: seconds,
        requests: r.requests,
        rps: r.requests / seconds,
        p50Ms: r.p50_us / 1000,
        p90Ms: r.p90_us / 1000,
        p99Ms: r.p99_us / 1000,
        p999Ms: r.p999_us / 1000,
        maxMs: r.max_us / 1000,
        meanMs: r.mean_us / 1000,
        errors: { connect: r.connect, read: r.read, write: r.write, status: r.status, timeout: r.timeout },
      });
    });
  });
}
