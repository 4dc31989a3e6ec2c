import type { HistoricalRequestIdentity } from '@ibrest/contract';

/**
 * IB's historical-data pacing, which spans every connection of the account, enforced for the whole pool
 * (IB's docs, "Historical Data Limitations"; violations are error 162 and, repeated, a disconnect). IB applies
 * it to bars of 30 seconds or less only; the route manifest's request parser (`historicalRequest(...).paced`)
 * says which requests those are, and only they come here:
 * - no identical request within 15 s: an identical request is not sent to IB again at all. It is pinned to
 *   the worker that sent the first (sticky by the same request identity) and answered from that worker's
 *   coalesced / cached answer, so it books nothing and waits at most for the first one's slot;
 * - at most 5 requests for one contract + exchange + tick type within 2 s ("six or more" violates);
 * - at most 60 requests within any 10 minutes;
 * - a BID_ASK request counts as two (for the count rules).
 * Requests are placed in FIFO order: a slot is granted at the earliest instant all rules allow, the caller
 * waits for it when that is soon enough, otherwise is told exactly when to come back.
 */

/** What the pacer needs of a request: the shared parser's identity, contract scope and weight. */
export type HistoricalRequest = Pick<HistoricalRequestIdentity, 'identity' | 'contract' | 'weight'>;

export type PacingKind = 'historical_contract' | 'historical_10min';

export type Reservation =
  /** `shared`: an identical request holds a slot already; this one rides on its answer and books nothing. */
  | { ok: true; delayMs: number; shared: boolean; cancel(): void; refund(): void }
  | { ok: false; retryAfterMs: number; kind: PacingKind; details: Record<string, unknown> };

interface Slot {
  t: number;
  weight: number;
  identical: string;
  contract: string;
}

export const HISTORICAL_RULES = {
  identicalWindowMs: 15_000,
  contractWindowMs: 2_000,
  contractLimit: 5,
  globalWindowMs: 600_000,
  globalLimit: 60,
} as const;

export class HistoricalPacer {
  /** Granted slots in ascending time (FIFO), pruned once older than the longest window. */
  private slots: Slot[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly marginMs = 50,
  ) {}

  reserve(request: HistoricalRequest, maxWaitMs: number): Reservation {
    const now = this.now();
    const R = HISTORICAL_RULES;
    this.slots = this.slots.filter((s) => s.t > now - R.globalWindowMs - this.marginMs);
    const identical = this.slots
      .filter((s) => s.identical === request.identity && s.t > now - R.identicalWindowMs)
      .at(-1);
    if (identical !== undefined) {
      const noop = (): void => undefined;
      return { ok: true, delayMs: Math.max(0, identical.t - now), shared: true, cancel: noop, refund: noop };
    }
    const base = Math.max(now, this.slots.at(-1)?.t ?? now);
    const candidates: Array<{ t: number; kind: PacingKind | null }> = [
      { t: base, kind: null },
      {
        t: this.earliest(
          this.slots.filter((s) => s.contract === request.contract),
          R.contractWindowMs,
          R.contractLimit - request.weight,
          base,
        ),
        kind: 'historical_contract',
      },
      {
        t: this.earliest(this.slots, R.globalWindowMs, R.globalLimit - request.weight, base),
        kind: 'historical_10min',
      },
    ];
    const binding = candidates.reduce((a, b) => (b.t > a.t ? b : a));
    const delayMs = Math.max(0, binding.t - now);
    if (delayMs > maxWaitMs) {
      const used = this.slots.filter((s) => s.t > now - R.globalWindowMs).reduce((n, s) => n + s.weight, 0);
      return {
        ok: false,
        retryAfterMs: delayMs,
        kind: binding.kind ?? 'historical_10min',
        details: {
          rule: binding.kind,
          retryAfterMs: delayMs,
          usedLast10Min: used,
          limit10Min: R.globalLimit,
          weight: request.weight,
        },
      };
    }
    const slot: Slot = {
      t: Math.max(binding.t, base),
      weight: request.weight,
      identical: request.identity,
      contract: request.contract,
    };
    this.slots.push(slot);
    return {
      ok: true,
      delayMs,
      shared: false,
      cancel: () => {
        // Only a slot still in the future is given back: one whose time has come may already be at IB.
        if (slot.t > this.now()) this.slots = this.slots.filter((s) => s !== slot);
      },
      // The worker answered without asking IB (invalid request, not ready): the slot was never used.
      refund: () => {
        this.slots = this.slots.filter((s) => s !== slot);
      },
    };
  }

  /** Earliest t ≥ base at which the weights of `scoped` inside (t - window, t] leave room for `room`. */
  private earliest(scoped: readonly Slot[], windowMs: number, room: number, base: number): number {
    let total = scoped.reduce((n, s) => n + s.weight, 0);
    let i = 0;
    let t = base;
    while (total > room && i < scoped.length) {
      const s = scoped[i++]!;
      total -= s.weight;
      t = Math.max(t, s.t + windowMs + this.marginMs);
    }
    return t;
  }
}
