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
 *
 * IB counts where requests arrive, the proxy can only decide where they leave: between the two lie the hop to a
 * worker, the worker's contract lookup and its message pacer, and on a loaded machine these delay one request more
 * than the next, so requests granted 2 s apart could arrive at IB closer together. So the windows are measured
 * from what bounds an arrival from above: the moment the worker's answer came back (a request is at IB before its
 * answer is). A request in flight counts in every window until then. The grant is checked again when its time
 * comes (`go`), counting only what went before it; the reservation's delay is the estimate.
 */

/** What the pacer needs of a request: the shared parser's identity, contract scope and weight. */
export type HistoricalRequest = Pick<HistoricalRequestIdentity, 'identity' | 'contract' | 'weight'>;

export type PacingKind = 'historical_contract' | 'historical_10min' | 'historical_open';

export type Reservation =
  | {
      ok: true;
      /** Until the slot's time (an estimate while requests ahead of it are in flight). */
      delayMs: number;
      /** `shared`: an identical request holds a slot already; this one rides on its answer and books nothing. */
      shared: boolean;
      /**
       * Called when the delay has passed: 0 = send now (the slot is marked sent); otherwise wait that many ms
       * and ask again (requests ahead are still in flight, or their answers came back later than planned).
       */
      go(): number;
      /** The answer came back (or the caller left): from now on the slot counts from this moment. */
      finish(aborted?: boolean): void;
      cancel(): void;
      refund(): void;
    }
  | { ok: false; retryAfterMs: number; kind: PacingKind; details: Record<string, unknown> };

interface Slot {
  /** Reservation order: a slot waits for the ones reserved before it (FIFO). */
  seq: number;
  /** The planned time. */
  t: number;
  weight: number;
  identical: string;
  contract: string;
  /** When it was sent to a worker; unset while planned. */
  sentAt?: number;
  /** When its answer came back (or its caller left, plus `ABORT_GRACE_MS`): its arrival at IB was before. */
  doneAt?: number;
}

/** An answer that never came (the caller left): the worker may still be sending the request, give it this long. */
export const ABORT_GRACE_MS = 2_000;
/** How often a slot waiting on requests in flight asks again. */
const GO_POLL_MS = 25;

export const HISTORICAL_RULES = {
  identicalWindowMs: 15_000,
  contractWindowMs: 2_000,
  contractLimit: 5,
  globalWindowMs: 600_000,
  globalLimit: 60,
  /** "The maximum number of simultaneous open historical data requests from the API is 50" (IB: 322). */
  simultaneousLimit: 50,
} as const;

/**
 * IB's limit of 50 simultaneous open historical data requests (every historical request: bars of any size,
 * keepUpToDate streams for as long as they run, head timestamps, ticks), held for the whole pool. Beyond it IB
 * answers 322 "Only 50 simultaneous API historical data requests allowed". A request waits in FIFO order for a
 * place until its wait budget runs out.
 */
export class OpenHistoricalRequests {
  private open = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(readonly limit: number = HISTORICAL_RULES.simultaneousLimit) {}

  get inUse(): number {
    return this.open;
  }

  /**
   * A place among the open requests: resolves with its release once one is free, or with `undefined` when none
   * came within `maxWaitMs` or the caller left (`signal`).
   */
  acquire(maxWaitMs: number, signal: AbortSignal): Promise<(() => void) | undefined> {
    if (this.open < this.limit && this.waiting.length === 0) return Promise.resolve(this.take());
    if (maxWaitMs <= 0 || signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', giveUp);
          resolve(this.take());
        },
      };
      const giveUp = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', giveUp);
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      };
      const timer = setTimeout(giveUp, maxWaitMs);
      signal.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(waiter);
    });
  }

  private take(): () => void {
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      this.waiting.shift()?.grant();
    };
  }
}

export class HistoricalPacer {
  /** Granted slots in reservation order, pruned once their answer is older than the longest window. */
  private slots: Slot[] = [];
  private seq = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly marginMs = 50,
  ) {}

  /** Where a slot counts from in the estimate: its answer, else (in flight) now at the earliest, else its plan. */
  private static at(s: Slot, now: number): number {
    return s.doneAt ?? (s.sentAt !== undefined ? Math.max(s.t, now) : s.t);
  }

  reserve(request: HistoricalRequest, maxWaitMs: number): Reservation {
    const now = this.now();
    const R = HISTORICAL_RULES;
    this.slots = this.slots.filter((s) => HistoricalPacer.at(s, now) > now - R.globalWindowMs - this.marginMs);
    const identical = this.slots
      .filter((s) => s.identical === request.identity && s.t > now - R.identicalWindowMs)
      .at(-1);
    if (identical !== undefined) {
      const noop = (): void => undefined;
      const delayMs = Math.max(0, identical.t - now);
      return { ok: true, delayMs, shared: true, go: () => 0, finish: noop, cancel: noop, refund: noop };
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
          now,
        ),
        kind: 'historical_contract',
      },
      {
        t: this.earliest(this.slots, R.globalWindowMs, R.globalLimit - request.weight, base, now),
        kind: 'historical_10min',
      },
    ];
    const binding = candidates.reduce((a, b) => (b.t > a.t ? b : a));
    const delayMs = Math.max(0, binding.t - now);
    if (delayMs > maxWaitMs) {
      const used = this.slots
        .filter((s) => HistoricalPacer.at(s, now) > now - R.globalWindowMs)
        .reduce((n, s) => n + s.weight, 0);
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
      seq: ++this.seq,
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
      go: () => this.go(slot),
      finish: (aborted = false) => {
        if (slot.sentAt !== undefined && slot.doneAt === undefined) {
          slot.doneAt = this.now() + (aborted ? ABORT_GRACE_MS : 0);
        }
      },
      cancel: () => {
        // Only a slot not yet sent is given back: one that was sent may already be at IB.
        if (slot.sentAt === undefined) this.slots = this.slots.filter((s) => s !== slot);
      },
      // The worker answered without asking IB (invalid request, not ready): the slot was never used.
      refund: () => {
        this.slots = this.slots.filter((s) => s !== slot);
      },
    };
  }

  /**
   * The check when a slot's time has come. It counts every slot that went before it (sent, or reserved earlier):
   * answered ones from their answer, the others (in flight, or still waiting their turn) as inside every window.
   * Returns 0 and marks the slot sent when both count rules leave room, else how long to wait before asking again.
   */
  private go(slot: Slot): number {
    if (slot.sentAt !== undefined) return 0;
    const now = this.now();
    const R = HISTORICAL_RULES;
    const ahead = this.slots.filter((s) => s !== slot && (s.sentAt !== undefined || s.seq < slot.seq));
    const waits = [
      this.room(
        ahead.filter((s) => s.contract === slot.contract),
        R.contractWindowMs,
        R.contractLimit - slot.weight,
        now,
      ),
      this.room(ahead, R.globalWindowMs, R.globalLimit - slot.weight, now),
    ];
    const wait = Math.max(...waits);
    if (wait <= 0) slot.sentAt = now;
    return Math.max(0, wait);
  }

  /**
   * How long until the weights of `scoped` inside the window leave room for `room`: answered slots leave it at
   * answer + window; one still in flight or waiting leaves at an unknown time, so then ask again soon.
   */
  private room(scoped: readonly Slot[], windowMs: number, room: number, now: number): number {
    const inside = scoped.filter((s) => s.doneAt === undefined || s.doneAt > now - windowMs - this.marginMs);
    let total = inside.reduce((n, s) => n + s.weight, 0);
    if (total <= room) return 0;
    const leaving = inside.filter((s) => s.doneAt !== undefined).sort((a, b) => a.doneAt! - b.doneAt!);
    for (const s of leaving) {
      total -= s.weight;
      if (total <= room) return s.doneAt! + windowMs + this.marginMs - now;
    }
    return GO_POLL_MS;
  }

  /** Estimate: earliest t ≥ base at which the weights of `scoped` inside (t - window, t] leave room for `room`. */
  private earliest(scoped: readonly Slot[], windowMs: number, room: number, base: number, now: number): number {
    const times = scoped.map((s) => ({ at: HistoricalPacer.at(s, now), weight: s.weight })).sort((a, b) => a.at - b.at);
    let total = times.reduce((n, s) => n + s.weight, 0);
    let i = 0;
    let t = base;
    while (total > room && i < times.length) {
      const s = times[i++]!;
      total -= s.weight;
      t = Math.max(t, s.at + windowMs + this.marginMs);
    }
    return t;
  }
}
