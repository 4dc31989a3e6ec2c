import type { Logger } from '@ibrest/common';
import type { Pool, Worker } from '../balancer/pool.js';
import type { UpstreamFailure } from '../forward.js';

/**
 * Passive health: a worker that refuses connections is taken out at once, without waiting for the next probe,
 * so the next requests do not hit it. It never marks a worker up: recovery belongs to the active probe, which
 * also checks the worker's IB readiness, not just its socket.
 */
export function reportFailure(pool: Pool, worker: Worker, failure: UpstreamFailure, log: Logger): void {
  if (failure.connectFailure) {
    if (pool.setStatus(worker, false, failure.reason, 'unreachable')) {
      log.warn({ clientId: worker.clientId, backend: worker.name, reason: failure.reason }, 'worker down (connect failure)');
    }
    return;
  }
  pool.noteError(worker, failure.reason);
}
