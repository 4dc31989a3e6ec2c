import { createHash } from 'node:crypto';
import type { Worker } from './pool.js';

/**
 * Rendezvous (highest-random-weight) hashing: every caller of one subscription key lands on the same worker,
 * so that worker holds one IB subscription for all of them. When a worker leaves, only its keys move; when it
 * returns, they move back. No shared table, no state.
 */
export function pickSticky(
  key: string,
  candidates: readonly Worker[],
  exclude: ReadonlySet<number> = new Set(),
): Worker | undefined {
  let best: Worker | undefined;
  let bestScore = -1n;
  for (const w of candidates) {
    if (exclude.has(w.clientId)) continue;
    const score = createHash('sha256').update(`${w.clientId}\0${key}`).digest().readBigUInt64BE(0);
    if (score > bestScore) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}
