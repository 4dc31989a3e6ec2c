import { PacingLimitError } from '../errors.js';

/** One historical request as IB's pacing rules see it. */
export interface HistoricalSlot {
  /** Full identity of the request (contract, end, duration, bar size, what, RTH): the 15 s rule. */
  key: string;
  /** Contract + exchange + tick type: the "6 within 2 s" rule. */
  contractKey: string;
  /** BID_ASK requests count twice towards the 60 per 10 min rule. */
  weight: number;
}

export interface HistoricalRules {
  /** No identical request within this many ms. @default 15000 */
  identicalMs: number;
  /** Window of the per-contract rule. @default 2000 */
  contractWindowMs: number;
  /** Requests allowed per contract within that window (IB refuses the 6th). @default 5 */
  contractMax: number;
  /** Window of the global rule. @default 600000 */
  windowMs: number;
  /** Requests allowed within that window. @default 60 */
  windowMax: number;
}

export const IB_HISTORICAL_RULES: HistoricalRules = {
  identicalMs: 15_000,
  contractWindowMs: 2_000,
  contractMax: 5,
  windowMs: 600_000,
  windowMax: 60,
};

interface Entry {
  at: number;
  key: string;
  contractKey: string;
  weight: number;
}

/**
 * IB's historical-data pacing (historical_limitations.html) as a scheduler: `reserve` returns the
 * earliest moment the request may be sent without error 162, and books that slot. A request whose
 * slot lies beyond its deadline is refused with the exact wait as Retry-After, and books nothing.
 */
export class HistoricalPacer {
  /** Booked slots (past and future), in booking order. */
  private entries: Entry[] = [];

  constructor(
    private readonly rules: HistoricalRules = IB_HISTORICAL_RULES,
    private readonly now: () => number = Date.now,
  ) {}

  earliest(slot: HistoricalSlot): number {
    const now = this.now();
    this.prune(now);
    let t = now;
    for (let round = 0; round < 8; round++) {
      const before = t;
      for (const e of this.entries) {
        if (e.key === slot.key) t = Math.max(t, e.at + this.rules.identicalMs);
      }
      t = this.windowed(t, this.entries.filter((e) => e.contractKey === slot.contractKey), this.rules.contractWindowMs, this.rules.contractMax, 1);
      t = this.windowed(t, this.entries, this.rules.windowMs, this.rules.windowMax, slot.weight);
      if (t === before) return t;
    }
    return t;
  }

  /** Books the slot or throws 429 PACING_LIMIT when it would only be free after `deadlineAt`. */
  reserve(slot: HistoricalSlot, deadlineAt: number): number {
    const at = this.earliest(slot);
    if (at > deadlineAt) {
      throw new PacingLimitError(
        'historical',
        "IB's historical-data pacing rules do not allow this request before its deadline",
        (at - this.now()) / 1000,
        undefined,
        { availableAt: new Date(at).toISOString() },
      );
    }
    this.entries.push({ at, ...slot });
    return at;
  }

  /** Frees a booked slot that was never used (the caller gave up before it was sent). */
  release(slot: HistoricalSlot, at: number): void {
    const i = this.entries.findIndex((e) => e.key === slot.key && e.at === at);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /**
   * Smallest t' ≥ t at which fewer than `max` weight units (counting `weight` more) fall in the window.
   * Future bookings count in every window they could share, which is conservative but never wrong.
   */
  private windowed(t: number, entries: Entry[], windowMs: number, max: number, weight: number): number {
    const units: number[] = [];
    for (const e of entries) for (let i = 0; i < e.weight; i++) units.push(e.at);
    units.sort((a, b) => a - b);
    const inWindow = units.filter((at) => at > t - windowMs);
    const excess = inWindow.length + weight - max;
    if (excess <= 0) return t;
    return Math.max(t, inWindow[excess - 1]! + windowMs);
  }

  private prune(now: number): void {
    const horizon = now - Math.max(this.rules.windowMs, this.rules.identicalMs, this.rules.contractWindowMs);
    if (this.entries.length > 0 && this.entries[0]!.at <= horizon) this.entries = this.entries.filter((e) => e.at > horizon);
  }
}
