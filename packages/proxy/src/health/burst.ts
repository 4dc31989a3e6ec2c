import type { IncomingHttpHeaders } from 'node:http';

/**
 * Passive detection of a worker that answers but does not serve: N consecutive bad answers within a time
 * window. What counts:
 * - bad: a 502 or 503 from the worker, and a broken exchange (reset after the connection came up, which the
 *   proxy answers with 502 itself);
 * - neutral (neither counts nor breaks the run): a 503 with `Retry-After`. That is the worker's deliberate
 *   "IB is not ready / connection lost / maintenance" answer; the readiness probe reports the same IB state,
 *   so a worker whose IB link is down leaves rotation through the probe anyway, while counting these answers
 *   would take out a worker the next probe puts straight back (flapping) whenever the 503 concerns one
 *   operation rather than the whole worker. 500 and 504 (a slow IB round trip) are neutral too;
 * - good (ends the run): any answer below 500, streams included.
 */
export type AnswerClass = 'bad' | 'neutral' | 'good';

export function classifyAnswer(status: number, headers: IncomingHttpHeaders): AnswerClass {
  if (status < 500) return 'good';
  if (status === 502) return 'bad';
  if (status === 503) return headers['retry-after'] === undefined ? 'bad' : 'neutral';
  return 'neutral';
}

export interface BurstOptions {
  /** Consecutive bad answers that take a worker out; 0 disables. */
  threshold: number;
  windowMs: number;
  clock: () => number;
}

/** Per-worker runs of bad answers; `record` says when a run reaches the threshold (and starts over). */
export class BurstDetector {
  private readonly runs = new Map<number, number[]>();

  constructor(private readonly options: BurstOptions) {}

  record(clientId: number, answer: AnswerClass): boolean {
    if (this.options.threshold <= 0 || answer === 'neutral') return false;
    if (answer === 'good') {
      this.runs.delete(clientId);
      return false;
    }
    const now = this.options.clock();
    const run = (this.runs.get(clientId) ?? []).filter((t) => t > now - this.options.windowMs);
    run.push(now);
    if (run.length >= this.options.threshold) {
      this.runs.delete(clientId);
      return true;
    }
    this.runs.set(clientId, run);
    return false;
  }

  /** A worker that comes back starts with a clean slate. */
  reset(clientId: number): void {
    this.runs.delete(clientId);
  }
}
