import http from 'node:http';
import https from 'node:https';
import type { Logger } from '@ibrest/common';
import { INTERNAL_HEADERS, isCapability, type Capability } from '@ibrest/contract';
import type { Pool, Worker, WorkerReport } from '../balancer/pool.js';

export interface ProbeResult {
  up: boolean;
  /** Readiness state reported by the worker, or `unreachable`. */
  state: string;
  reason: string;
  /** What the worker's readiness body says of its IB session (clientId in use, lease, stuck code). */
  report?: WorkerReport;
}

export interface ActiveHealthOptions {
  intervalMs: number;
  downIntervalMs: number;
  timeoutMs: number;
  /** The proxy token (IBREST_INTERNAL_TOKEN), sent on every probe so a worker with another one says so. */
  internalToken?: string;
  onProbe?(worker: Worker, result: ProbeResult): void;
}

/** The capabilities a readiness body reports ok (`{ link: { ok: true }, … }`); nothing when it has none. */
function capabilitiesOf(raw: unknown): { capabilities?: Capability[] } {
  if (typeof raw !== 'object' || raw === null) return {};
  const ok = Object.entries(raw as Record<string, unknown>)
    .filter(([name, s]) => isCapability(name) && (s as { ok?: unknown } | null)?.ok === true)
    .map(([name]) => name as Capability);
  return { capabilities: ok };
}

/**
 * One GET of `<worker>/health/ready`: 200 = up; anything else (503, error, timeout) = down. Also down: a worker
 * that refuses our proxy token (401: it was given another one), and a worker that requires a token when this proxy
 * has none; every request forwarded to either would be answered 401.
 */
export function probe(url: URL, timeoutMs: number, internalToken?: string): Promise<ProbeResult> {
  const target = new URL('/health/ready', url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    // A fresh connection per probe (agent: false): a probe must test that the worker accepts connections,
    // and must not sit in the forwarding pool's sockets.
    const req = lib.get(
      target,
      {
        agent: false,
        timeout: timeoutMs,
        headers: {
          accept: 'application/json',
          ...(internalToken === undefined ? {} : { [INTERNAL_HEADERS.proxyToken]: internalToken }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 65536) chunks.push(c);
        });
        res.on('end', () => {
          let state = res.statusCode === 200 ? 'ready' : 'not_ready';
          let report: WorkerReport | undefined;
          let tokenMissing = false;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            if (typeof body.status === 'string') state = body.status;
            tokenMissing = internalToken === undefined && body.proxyToken === 'required';
            report = {
              ibClientId: typeof body.clientId === 'number' ? body.clientId : null,
              lease: typeof body.lease === 'string' ? body.lease : null,
              code: typeof body.code === 'string' ? body.code : null,
              ...capabilitiesOf(body.capabilities),
            };
          } catch {
            // A non-JSON readiness body still has a meaningful status code.
          }
          if (res.statusCode === 401) {
            done({ up: false, state: 'proxy_token_refused', report, reason: 'proxy_token_refused' });
          } else if (tokenMissing) {
            // Nothing may be routed to it, mirror reads included: every request would be answered 401.
            const none = { ...report!, capabilities: [] };
            done({ up: false, state: 'proxy_token_missing', report: none, reason: 'proxy_token_missing' });
          } else {
            done({
              up: res.statusCode === 200,
              state,
              report,
              reason: res.statusCode === 200 ? 'probe_ok' : `probe_status_${res.statusCode}`,
            });
          }
        });
        res.on('error', (err) =>
          done({ up: false, state: 'unreachable', reason: (err as NodeJS.ErrnoException).code ?? 'probe_error' }),
        );
      },
    );
    req.on('timeout', () => {
      req.destroy();
      done({ up: false, state: 'unreachable', reason: 'probe_timeout' });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ up: false, state: 'unreachable', reason: err.code ?? 'probe_error' }),
    );
  });
}

/**
 * Active health checks: the only path back into rotation. Each worker has its own loop so one slow worker
 * never delays another's probe; the loop probes faster while its worker is down to shorten recovery.
 */
export class ActiveHealth {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;
  /** Workers with a probe in progress (its completion schedules the next one). */
  private readonly probing = new Set<number>();

  constructor(
    private readonly pool: Pool,
    private readonly options: ActiveHealthOptions,
    private readonly log: Logger,
  ) {
    // A worker taken out by passive detection is probed on the fast schedule from now on, not after the slow one.
    pool.onStatusChange(({ worker, up }) => {
      if (up || this.stopped || this.probing.has(worker.clientId)) return;
      clearTimeout(this.timers.get(worker.clientId));
      this.schedule(worker, this.options.downIntervalMs);
    });
  }

  /** Probes every worker now (start-up: the pool is empty until these answer), then on schedule. */
  start(): Promise<void> {
    return Promise.all(this.pool.all().map((w) => this.run(w))).then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async run(worker: Worker): Promise<void> {
    if (this.stopped) return;
    this.probing.add(worker.clientId);
    try {
      const result = await probe(worker.url, this.options.timeoutMs, this.options.internalToken);
      if (this.stopped) return;
      this.options.onProbe?.(worker, result);
      const changed = this.pool.setStatus(worker, result.up, result.reason, result.state, result.report);
      if (changed) {
        const token = result.reason === 'proxy_token_refused' || result.reason === 'proxy_token_missing';
        this.log[result.up ? 'info' : token ? 'error' : 'warn'](
          { clientId: worker.clientId, backend: worker.name, state: result.state, reason: result.reason },
          result.up
            ? 'worker up'
            : token
              ? 'worker down: it was given another IBREST_INTERNAL_TOKEN than this proxy (or this proxy has none)'
              : 'worker down',
        );
      }
    } finally {
      this.probing.delete(worker.clientId);
    }
    if (!this.stopped) this.schedule(worker, worker.up ? this.options.intervalMs : this.options.downIntervalMs);
  }

  private schedule(worker: Worker, delayMs: number): void {
    const timer = setTimeout(() => void this.run(worker), delayMs);
    timer.unref();
    this.timers.set(worker.clientId, timer);
  }
}
