import type { Logger } from '@ibrest/common';
import type { WorkerMetrics } from '../metrics.js';

export interface LeaseOptions {
  configured: number;
  /** Spare clientIds in the order they are tried (8–31). */
  spares: number[];
  /** Consecutive 326 refusals of one clientId before moving on. */
  refusalsBeforeFallback: number;
  log: Logger;
  metrics?: WorkerMetrics;
}

export type LeaseKind = 'configured' | 'spare';

/**
 * Which clientId the connection uses. IB sometimes never releases a clientId (326 until the gateway
 * restarts), which would leave the worker useless; after `refusalsBeforeFallback` consecutive 326 the
 * lease moves to the next spare, and stays there for the life of the process (moving back would orphan
 * the orders placed under the spare). clientId 0 never moves: only it sees every client's and TWS's
 * orders, so a replacement would silently lose that view. It is reported stuck instead.
 */
export class ClientIdLease {
  private index = -1;
  private refusals = 0;
  private stuckSince: string | undefined;
  private fallbacks = 0;
  private readonly listeners = new Set<(clientId: number) => void>();

  constructor(private readonly o: LeaseOptions) {
    o.metrics?.clientIdLease.set(o.configured);
    o.metrics?.clientIdStuck.set(0);
  }

  get current(): number {
    return this.index < 0 ? this.o.configured : this.o.spares[this.index]!;
  }

  get kind(): LeaseKind {
    return this.index < 0 ? 'configured' : 'spare';
  }

  /** clientId 0 (or a worker without spares left) kept being refused. */
  get stuck(): boolean {
    return this.stuckSince !== undefined;
  }

  /** Called with the new clientId whenever the lease moves. */
  onChange(fn: (clientId: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** IB answered 326 for the current clientId. */
  refused(): void {
    this.refusals++;
    if (this.refusals < this.o.refusalsBeforeFallback) return;
    const canMove = this.o.configured !== 0 && this.index + 1 < this.o.spares.length;
    if (!canMove) {
      if (this.stuckSince === undefined) {
        this.stuckSince = new Date().toISOString();
        this.o.metrics?.clientIdStuck.set(1);
        this.o.log.error(
          { refusals: this.refusals, configuredClientId: this.o.configured },
          this.o.configured === 0
            ? 'clientId 0 stays refused (326) and cannot be replaced: ' +
                'orders cannot be managed until the gateway releases it'
            : 'clientId stays refused (326) and no spare is left',
        );
      }
      return;
    }
    const from = this.current;
    this.index++;
    this.refusals = 0;
    this.fallbacks++;
    this.o.metrics?.clientIdFallbacks.inc();
    this.o.metrics?.clientIdLease.set(this.current);
    this.o.log.warn(
      { from, to: this.current, configuredClientId: this.o.configured },
      'clientId stays refused (326); falling back to a spare clientId',
    );
    for (const fn of this.listeners) fn(this.current);
  }

  /** A session started: the clientId is ours. */
  accepted(): void {
    this.refusals = 0;
    if (this.stuckSince !== undefined) {
      this.stuckSince = undefined;
      this.o.metrics?.clientIdStuck.set(0);
    }
  }

  health() {
    return {
      clientId: this.current,
      configuredClientId: this.o.configured,
      lease: this.kind,
      consecutiveRefusals: this.refusals,
      fallbacks: this.fallbacks,
      stuck: this.stuck,
      ...(this.stuckSince === undefined ? {} : { stuckSince: this.stuckSince }),
    };
  }
}
