import type { IncomingHttpHeaders } from 'node:http';

/**
 * Passive detection of a worker that answers but does not serve: N consecutive bad answers within a time
 * window. Only what says the *worker* is unwell counts (the worker classifies every IB error by blame):
 * - bad: a 500 (the worker's own defect), and a broken exchange (reset after the connection came up, or no
 *   byte within the hop timeout), which the proxy reports through `failure`;
 * - neutral (neither counts nor breaks the run): every other 5xx. A 503 is IB or its link in trouble (the
 *   readiness probe reports the same state, and only the probe decides what the worker can serve), a 502/504
 *   is IB's slowness or an answer relayed from further away — none says this worker is broken;
 * - good (ends the run): any answer below 500, streams included. A 4xx or a 429 blames the caller or IB's
 *   pacing, never the worker: no caller can take a worker out of rotation by asking for what IB refuses.
 */
export type AnswerClass = 'bad' | 'neutral' | 'good';

export function classifyAnswer(status: number, _headers: IncomingHttpHeaders): AnswerClass {
  if (status < 500) return 'good';
  return status === 500 ? 'bad' : 'neutral';
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
