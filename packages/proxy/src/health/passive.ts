import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '@ibrest/common';
import type { Pool, Worker } from '../balancer/pool.js';
import type { UpstreamFailure } from '../forward.js';
import type { ProxyMetrics } from '../metrics.js';
import { classifyAnswer, type BurstDetector } from './burst.js';

/**
 * Passive health, from real traffic. It only ever takes a worker out: recovery belongs to the active probe,
 * which also checks the worker's IB readiness, not just its socket. Two signals:
 * - a refused connection (or connect timeout) takes the worker out at once, so the next requests do not hit it;
 * - a burst of bad answers (see health/burst.ts): the worker is up but not serving.
 * Resets and hop timeouts are recorded in `lastError` and count toward a burst.
 */
export class PassiveHealth {
  constructor(
    private readonly pool: Pool,
    private readonly burst: BurstDetector,
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
  ) {
    pool.onStatusChange(({ worker, up }) => {
      if (up) burst.reset(worker.clientId);
    });
  }

  failure(worker: Worker, failure: UpstreamFailure): void {
    if (failure.connectFailure) {
      this.takeOut(worker, failure.reason, 'connect_failure', 'unreachable', 'worker down (connect failure)');
      return;
    }
    this.pool.noteError(worker, failure.reason);
    if (this.burst.record(worker.clientId, 'bad')) {
      this.takeOut(worker, failure.reason, '5xx_burst', undefined, 'worker down (burst of failed answers)');
    }
  }

  answer(worker: Worker, status: number, headers: IncomingHttpHeaders): void {
    const cls = classifyAnswer(status, headers);
    if (cls === 'bad') this.pool.noteError(worker, `status_${status}`);
    if (this.burst.record(worker.clientId, cls))
      this.takeOut(worker, `status_${status}`, '5xx_burst', undefined, 'worker down (burst of failed answers)');
  }

  private takeOut(
    worker: Worker,
    reason: string,
    kind: 'connect_failure' | '5xx_burst',
    state: string | undefined,
    msg: string,
  ): void {
    if (this.pool.setStatus(worker, false, kind === '5xx_burst' ? `5xx_burst:${reason}` : reason, state)) {
      this.metrics.passiveDown.inc({ backend: worker.name, reason: kind });
      this.log.warn({ clientId: worker.clientId, backend: worker.name, reason }, msg);
    }
  }
}
