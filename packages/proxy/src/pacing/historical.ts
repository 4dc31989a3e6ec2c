/**
 * IB's historical-data pacing, which spans every connection of the account, enforced for the whole pool
 * (IB's docs, "Historical Data Limitations"; violations are error 162 and, repeated, a disconnect):
 * - no identical request within 15 s;
 * - at most 5 requests for one contract + exchange + tick type within 2 s ("six or more" violates);
 * - at most 60 requests within any 10 minutes;
 * - a BID_ASK request counts as two (for the count rules).
 * Requests are placed in FIFO order: a slot is granted at the earliest instant all rules allow, the caller
 * waits for it when that is soon enough, otherwise is told exactly when to come back.
 */

export interface HistoricalRequest {
  /** Every parameter that makes two requests "identical". */
  identical: string;
  /** Contract + exchange + whatToShow. */
  contract: string;
  weight: 1 | 2;
}

export type PacingKind = 'historical_identical' | 'historical_contract' | 'historical_10min';

export type Reservation =
  | { ok: true; delayMs: number; cancel(): void; refund(): void }
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

/** Query parameters that change the presentation or deadline, not the IB request. */
const NOT_IN_IDENTITY = new Set(['timeout', 'format']);
const CONTRACT_FIELDS = ['symbol', 'secType', 'currency', 'primaryExch', 'lastTradeDateOrContractMonth', 'strike', 'right', 'multiplier', 'localSymbol', 'tradingClass'];

/** Reads the pacing identity of `GET /historical…` from its query (the worker's parameter names). */
export function historicalRequestOf(path: string, query: URLSearchParams): HistoricalRequest {
  const pairs = [...query].filter(([k]) => !NOT_IN_IDENTITY.has(k)).sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  const whatToShow = (query.get('whatToShow') ?? 'TRADES').toUpperCase();
  const conId = query.get('conId');
  const contract = conId !== null && conId !== '' ? `conId=${conId}` : CONTRACT_FIELDS.map((f) => (query.get(f) ?? '').toUpperCase()).join('|');
  return {
    identical: path + '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&'),
    contract: `${contract}@${(query.get('exchange') ?? 'SMART').toUpperCase()}#${whatToShow}`,
    weight: whatToShow === 'BID_ASK' ? 2 : 1,
  };
}

export class HistoricalPacer {
  /** Granted slots in ascending time (FIFO), pruned once older than the longest window. */
  private slots: Slot[] = [];

  constructor(private readonly now: () => number = Date.now, private readonly marginMs = 50) {}

  reserve(request: HistoricalRequest, maxWaitMs: number): Reservation {
    const now = this.now();
    const R = HISTORICAL_RULES;
    this.slots = this.slots.filter((s) => s.t > now - R.globalWindowMs - this.marginMs);
    const base = Math.max(now, this.slots.at(-1)?.t ?? now);
    const identical = this.slots.filter((s) => s.identical === request.identical).at(-1);
    const candidates: Array<{ t: number; kind: PacingKind | null }> = [
      { t: base, kind: null },
      { t: identical === undefined ? base : identical.t + R.identicalWindowMs + this.marginMs, kind: 'historical_identical' },
      { t: this.earliest(this.slots.filter((s) => s.contract === request.contract), R.contractWindowMs, R.contractLimit - request.weight, base), kind: 'historical_contract' },
      { t: this.earliest(this.slots, R.globalWindowMs, R.globalLimit - request.weight, base), kind: 'historical_10min' },
    ];
    const binding = candidates.reduce((a, b) => (b.t > a.t ? b : a));
    const delayMs = Math.max(0, binding.t - now);
    if (delayMs > maxWaitMs) {
      const used = this.slots.filter((s) => s.t > now - R.globalWindowMs).reduce((n, s) => n + s.weight, 0);
      return {
        ok: false,
        retryAfterMs: delayMs,
        kind: binding.kind ?? 'historical_10min',
        details: { rule: binding.kind, retryAfterMs: delayMs, usedLast10Min: used, limit10Min: R.globalLimit, weight: request.weight },
      };
    }
    const slot: Slot = { t: Math.max(binding.t, base), weight: request.weight, identical: request.identical, contract: request.contract };
    this.slots.push(slot);
    return {
      ok: true,
      delayMs,
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
