import { UnavailableError } from '@ibrest/common';

/**
 * Bounded upstream capacity with a wait limit. Each (pool, worker) pair has `capacity` slots, one per request
 * in flight (one socket each); the agent behind it has at least as many sockets, so it never queues by itself,
 * and a request that cannot get a slot within `timeoutMs` is answered 503 + Retry-After instead of waiting
 * without end. Pools are separate so long-lived streams can never take the slots of order operations.
 */
export type UpstreamPool = 'orders' | 'requests' | 'streams';

export class UpstreamBusyError extends UnavailableError {
  constructor(pool: UpstreamPool, clientId: number, waitedMs: number, capacity: number) {
    super(
      'UPSTREAM_BUSY',
      `No connection to worker ${clientId} freed up within ${waitedMs} ms (${capacity} ${pool} connections in use)`,
      1,
      { pool, clientId, capacity, waitedMs },
    );
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout;
}

class Slots {
  inUse = 0;
  readonly waiters: Waiter[] = [];
  constructor(readonly capacity: number) {}
}

export class UpstreamSlots {
  /** `${pool}:${clientId}` → slots. */
  private readonly slots = new Map<string, Slots>();

  constructor(
    private readonly capacity: Record<UpstreamPool, number>,
    private readonly timeoutMs: number,
  ) {}

  inUse(pool: UpstreamPool, clientId: number): number {
    return this.slots.get(`${pool}:${clientId}`)?.inUse ?? 0;
  }

  /**
   * Resolves with the release function once a slot is free; rejects with {@link UpstreamBusyError} after the
   * wait limit. `signal` aborts the wait (the client went away).
   */
  acquire(pool: UpstreamPool, clientId: number, signal?: AbortSignal): Promise<() => void> {
    const key = `${pool}:${clientId}`;
    let s = this.slots.get(key);
    if (s === undefined) this.slots.set(key, (s = new Slots(this.capacity[pool])));
    const slots = s;
    const release = (): (() => void) => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const next = slots.waiters.shift();
        if (next !== undefined) {
          clearTimeout(next.timer);
          next.grant(release());
        } else slots.inUse -= 1;
      };
    };
    if (slots.inUse < slots.capacity) {
      slots.inUse += 1;
      return Promise.resolve(release());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        timer: setTimeout(() => {
          remove();
          reject(new UpstreamBusyError(pool, clientId, this.timeoutMs, slots.capacity));
        }, this.timeoutMs),
      };
      const remove = (): void => {
        const i = slots.waiters.indexOf(waiter);
        if (i >= 0) slots.waiters.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        clearTimeout(waiter.timer);
        remove();
        reject(new Error('client went away while waiting for an upstream connection'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      slots.waiters.push(waiter);
    });
  }
}
