import type { Gauge } from 'prom-client';
import type { ApiError } from '@ibrest/common';
import type { WorkerMetrics } from '../metrics.js';

export interface CountedBudgetOptions {
  budget: number;
  /** `ibworker_pacing_rejections_total{kind}` label for a refusal. */
  kind: string;
  /** What a refusal throws: a 429 the caller understands, before IB answers 101 / 309. */
  refuse: (budget: number, inUse: number) => ApiError;
  gauge?: (m: WorkerMetrics) => Gauge;
  metrics?: WorkerMetrics;
}

/**
 * A count of IB resources this worker holds (market-data lines, depth books) against a budget. `acquire`
 * refuses before IB would, and returns an idempotent release.
 */
export class CountedBudget {
  private inUse = 0;

  constructor(private readonly o: CountedBudgetOptions) {}

  get used(): number {
    return this.inUse;
  }

  acquire(units = 1): () => void {
    if (units === 0) return () => undefined;
    if (this.inUse + units > this.o.budget) {
      this.o.metrics?.pacingRejections.inc({ kind: this.o.kind });
      throw this.o.refuse(this.o.budget, this.inUse);
    }
    this.move(units);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.move(-units);
    };
  }

  private move(units: number): void {
    this.inUse += units;
    if (this.o.metrics && this.o.gauge) this.o.gauge(this.o.metrics).set(this.inUse);
  }
}
