import type { Worker } from './pool.js';

/**
 * Exact least-outstanding-requests: one process sees every request, so the in-flight counts are exact and
 * power-of-two-choices (built for partial knowledge) would only add noise. Ties go round-robin: scanning
 * starts after the last worker picked, so equal workers take turns instead of the lowest id winning.
 */
export class LeastOutstanding {
  private lastPicked = -1;

  pick(candidates: readonly Worker[], exclude: ReadonlySet<number> = new Set()): Worker | undefined {
    const usable = candidates.filter((w) => !exclude.has(w.clientId)).sort((a, b) => a.clientId - b.clientId);
    if (usable.length === 0) return undefined;
    const start = usable.findIndex((w) => w.clientId > this.lastPicked);
    const offset = start === -1 ? 0 : start;
    let best: Worker | undefined;
    for (let i = 0; i < usable.length; i++) {
      const w = usable[(offset + i) % usable.length]!;
      if (best === undefined || w.inFlight < best.inFlight) best = w;
    }
    this.lastPicked = best!.clientId;
    return best;
  }
}
