import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * One child process speaking the ibrest process contract: it logs pino JSON lines on stdout, one of which
 * has `"msg":"listening"` with the bound `port`. Used by the `npm start` supervisor and by the end-to-end
 * helpers, so both learn ports the same way.
 */
export interface ServiceSpec {
  name: string;
  /** Absolute path of the script to run with this Node binary. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  /** Called with every stdout/stderr line (raw text), e.g. to keep a log file. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunningService {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the address from the "listening" log line. */
  listening: Promise<Listening>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** The last 20 lines the process wrote (stdout and stderr). */
  lastLines(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export interface Listening {
  port: number;
  /** The base URL the process announced (e.g. `http://127.0.0.1:5000`), when it announced one. */
  url?: string;
}

export class ServiceExitedError extends Error {
  constructor(name: string, code: number | string, lastLines: string[]) {
    super(`${name} exited (${code}) before it was listening. Last output:\n${lastLines.join('\n')}`);
    this.name = 'ServiceExitedError';
  }
}

/**
 * Children still running; killed when this process exits. A parent killed by SIGKILL runs no exit hook: the
 * children's parent watch (fd 3) covers that case.
 */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** Preloaded into every child: it exits when this process dies, even by SIGKILL (see parent-watch.ts). */
const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href;

export function startService(spec: ServiceSpec): RunningService {
  // fd 3 is a pipe this process never writes to: the child sees it close when this process is gone.
  const child = spawn(process.execPath, ['--import', PARENT_WATCH, spec.script, ...(spec.args ?? [])], {
    env: { ...process.env, ...spec.env, IBREST_PARENT_PIPE_FD: '3' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  track(child);
  // This end only has to stay open; it must not keep this process alive.
  (child.stdio[3] as { unref?: () => void } | null)?.unref?.();
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  const listening = new Promise<Listening>((resolve, reject) => {
    let bound = false;
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      remember(line);
      spec.onLine?.(line, 'stdout');
      if (bound || !line.includes('"listening"')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number; url?: string };
        if (rec.msg === 'listening' && typeof rec.port === 'number') {
          bound = true;
          resolve({ port: rec.port, url: rec.url });
        }
      } catch {
        // not JSON: ordinary output
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      remember(line);
      spec.onLine?.(line, 'stderr');
    });
    void exited.then((code) => {
      if (!bound) reject(new ServiceExitedError(spec.name, code, tail));
    });
  });
  // A caller that never awaits `listening` must not see an unhandled rejection when the child dies.
  listening.catch(() => undefined);

  return {
    name: spec.name,
    child,
    pid: child.pid ?? -1,
    listening,
    exited,
    lastLines: () => [...tail],
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200 or `timeoutMs` passes; returns the last status seen. */
export async function waitForOk(url: string, timeoutMs: number, intervalMs = 100): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: number;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = res.status;
      await res.arrayBuffer();
      if (res.ok) return last;
    } catch {
      last = 0;
    }
    if (Date.now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
