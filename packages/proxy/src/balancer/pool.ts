import { CAPABILITIES, type Capability } from '@ibrest/contract';
import type { WorkerTarget } from '../config.js';

/** A worker as the rest of the proxy sees it: read-only, mutated only through {@link Pool}. */
export interface Worker {
  readonly clientId: number;
  /** Metric/log name, `worker<clientId>`. */
  readonly name: string;
  readonly url: URL;
  /** In rotation: the worker's IB link is up (its readiness answered 200). */
  readonly up: boolean;
  /**
   * What the worker can serve now, from its last readiness answer; empty while it is unreachable or taken out
   * by passive health. A worker whose link is down may still serve `mirror` reads.
   */
  readonly capabilities: ReadonlySet<Capability>;
  /** Last readiness state the worker reported (`ready`, `degraded`, `connecting`, …) or `unknown`/`unreachable`. */
  readonly state: string;
  readonly inFlight: number;
  readonly lastError: { reason: string; at: string } | null;
  readonly since: string;
  /** The IB clientId the worker's session uses: its own, or a spare after repeated 326 (issue: leases). */
  readonly ibClientId: number | null;
  /** `configured` or `spare`, as the worker reports it. */
  readonly lease: string | null;
  /** The worker's readiness code, e.g. `CLIENT_ID_STUCK` when clientId 0 stays refused. */
  readonly code: string | null;
}

/** What a worker's readiness body says about its IB session. */
export interface WorkerReport {
  ibClientId: number | null;
  lease: string | null;
  code: string | null;
  /** Capabilities the worker reported ok; undefined when its body had none (then: all when up, none when down). */
  capabilities?: Capability[];
}

const ALL_CAPABILITIES: readonly Capability[] = CAPABILITIES;

type MutableWorker = { -readonly [K in keyof Worker]: Worker[K] };

export interface StatusChange {
  worker: Worker;
  up: boolean;
  reason: string;
}

/** Releases one unit of in-flight count; calling it again is a no-op, so every exit path may call it. */
export type Lease = () => void;

export interface PoolHooks {
  onStatusChange?(change: StatusChange): void;
  onInFlight?(worker: Worker): void;
  /** The worker's capabilities were set (every readiness answer, and when it is taken out). */
  onCapabilities?(worker: Worker): void;
}

/**
 * The worker set and the single owner of its status. Active probes and passive failure detection both
 * report through {@link Pool.setStatus}; nothing else writes worker state (traefik's StatusSetter).
 * Workers start down with state `unknown`: only a passing probe puts a worker into rotation.
 */
export class Pool {
  /** Ascending clientId; fixed for the process lifetime. */
  private readonly list: MutableWorker[];
  private readonly byId = new Map<number, MutableWorker>();
  private readonly listeners: Array<(change: StatusChange) => void> = [];

  constructor(
    targets: readonly WorkerTarget[],
    private readonly hooks: PoolHooks = {},
    private readonly now: () => number = Date.now,
  ) {
    const since = new Date(this.now()).toISOString();
    this.list = [...targets]
      .sort((a, b) => a.clientId - b.clientId)
      .map((t) => ({
        clientId: t.clientId,
        name: `worker${t.clientId}`,
        url: t.url,
        up: false,
        capabilities: new Set<Capability>(),
        state: 'unknown',
        inFlight: 0,
        lastError: null,
        since,
        ibClientId: null,
        lease: null,
        code: null,
      }));
    for (const w of this.list) this.byId.set(w.clientId, w);
  }

  all(): readonly Worker[] {
    return this.list;
  }

  get(clientId: number): Worker | undefined {
    return this.byId.get(clientId);
  }

  /** The clientId-0 worker: the only one that sees and may modify every order. */
  get orderWorker(): Worker {
    return this.byId.get(0)!;
  }

  /**
   * Workers that may serve balanced (non-order) requests: the healthy ones other than clientId 0, whose
   * pacing budget is kept for orders. Worker 0 serves reads only when it is the last one up.
   */
  readCandidates(): Worker[] {
    const others = this.list.filter((w) => w.up && w.clientId !== 0);
    if (others.length > 0) return others;
    const zero = this.byId.get(0)!;
    return zero.up ? [zero] : [];
  }

  /**
   * Workers that can serve a route needing `needs`: every need among the worker's capabilities. Worker 0 (whose
   * pacing budget is kept for orders) serves balanced requests only when no other worker can.
   */
  candidates(needs: readonly Capability[]): Worker[] {
    const able = this.list.filter((w) => w.capabilities.size > 0 && needs.every((n) => w.capabilities.has(n)));
    const others = able.filter((w) => w.clientId !== 0);
    return others.length > 0 ? others : able;
  }

  /** Whether `worker` can serve a route needing `needs` now. */
  covers(worker: Worker, needs: readonly Capability[]): boolean {
    return worker.capabilities.size > 0 && needs.every((n) => worker.capabilities.has(n));
  }

  /**
   * The one way to change a worker's health. `state` is what the worker itself reported (readiness body);
   * `reason` says why (probe result, connect error code). Returns true when `up` changed.
   */
  setStatus(worker: Worker, up: boolean, reason: string, state?: string, report?: WorkerReport): boolean {
    const w = this.byId.get(worker.clientId);
    if (w === undefined) return false;
    if (state !== undefined) w.state = state;
    if (report !== undefined) {
      const { capabilities, ...rest } = report;
      Object.assign(w, rest);
      w.capabilities = new Set(capabilities ?? (up ? ALL_CAPABILITIES : []));
      this.hooks.onCapabilities?.(w);
    } else if (!up) {
      // Taken out without a readiness answer (refused connection, burst of failures): nothing is routed to it.
      w.capabilities = new Set();
      this.hooks.onCapabilities?.(w);
    }
    if (!up) w.lastError = { reason, at: new Date(this.now()).toISOString() };
    if (w.up === up) return false;
    w.up = up;
    w.since = new Date(this.now()).toISOString();
    const change = { worker: w, up, reason };
    this.hooks.onStatusChange?.(change);
    for (const l of this.listeners) l(change);
    return true;
  }

  /** Subscribes to up/down transitions (the active checker speeds up as soon as passive detection reports). */
  onStatusChange(listener: (change: StatusChange) => void): void {
    this.listeners.push(listener);
  }

  /** Records a failure that does not by itself take the worker out (a reset or timeout mid-request). */
  noteError(worker: Worker, reason: string): void {
    const w = this.byId.get(worker.clientId);
    if (w !== undefined) w.lastError = { reason, at: new Date(this.now()).toISOString() };
  }

  acquire(worker: Worker): Lease {
    const w = this.byId.get(worker.clientId)!;
    w.inFlight += 1;
    this.hooks.onInFlight?.(w);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      w.inFlight -= 1;
      this.hooks.onInFlight?.(w);
    };
  }

  /** Ready when the order worker and, if the pool has others, at least one of them are up. */
  readiness(): { ready: boolean; orderWorkerUp: boolean; readWorkersUp: number; workers: number } {
    const orderWorkerUp = this.byId.get(0)!.up;
    const readWorkersUp = this.list.filter((w) => w.up && w.clientId !== 0).length;
    const needOthers = this.list.length > 1;
    return {
      ready: orderWorkerUp && (!needOthers || readWorkersUp > 0),
      orderWorkerUp,
      readWorkersUp,
      workers: this.list.length,
    };
  }
}
