import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function pkgVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    try {
      const main = require.resolve(name);
      const root = main.slice(0, main.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
      return JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
    } catch {
      return 'unknown';
    }
  }
}

function toolVersion(path, args, re) {
  if (!path) return 'not installed';
  try {
    return (
      (re.exec(execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) ?? [])[1] ?? 'unknown'
    );
  } catch (err) {
    return (re.exec(`${err.stdout ?? ''}${err.stderr ?? ''}`) ?? [])[1] ?? 'unknown';
  }
}

export function machineInfo({ wrkPath, haproxyPath }) {
  let os = 'unknown';
  try {
    os = (/PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8')) ?? [])[1] ?? os;
  } catch {
    // not Linux
  }
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    os,
    node: process.version,
    wrk: toolVersion(wrkPath, ['-v'], /wrk (\S+)/),
    haproxy: toolVersion(haproxyPath, ['-v'], /version (\S+)/),
    stoqeyIb: pkgVersion('@stoqey/ib'),
    httpProxy3: pkgVersion('http-proxy-3'),
  };
}
