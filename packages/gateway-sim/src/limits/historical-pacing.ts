/** The identity of a historical request for IB's pacing rules. */
export interface HistoricalKey {
  conId: number;
  exchange: string;
  whatToShow: string;
  endDateTime: string;
  duration: string;
  barSize: string;
  useRTH: boolean;
}

export interface PacingLimits {
  /** No identical request within this many ms (IB: 15 s). */
  identicalWindowMs: number;
  /**
   * At most `sameContractMax - 1` requests for one contract/exchange/tick type within `sameContractWindowMs` (IB: 6
   * within 2 s is a violation).
   */
  sameContractMax: number;
  sameContractWindowMs: number;
  /** At most this many requests in `totalWindowMs` (IB: 60 in 10 minutes). */
  totalMax: number;
  totalWindowMs: number;
  /** Open historical requests of the session at once (IB: 50; the 51st is refused with 322). */
  simultaneousMax: number;
}

export const IB_PACING: PacingLimits = {
  identicalWindowMs: 15_000,
  sameContractMax: 6,
  sameContractWindowMs: 2_000,
  totalMax: 60,
  totalWindowMs: 600_000,
  simultaneousMax: 50,
};

/** IB's answer to the 51st open historical request (error 322). */
export const simultaneousHistoricalText = (max: number): string =>
  `Error processing request:-'wd' : cause - Only ${max} simultaneous API historical data requests allowed.`;

interface Entry {
  time: number;
  identity: string;
  contractKey: string;
  weight: number;
}

/**
 * IB's historical-data pacing, shared by every client of one session (IB counts per account):
 * identical request within 15 s; 6 or more requests for the same contract, exchange and tick type within
 * 2 s; more than 60 requests in 10 minutes. BID_ASK requests count double. Refused requests do not count.
 * IB applies these rules to bars of 30 seconds or less only (historical_limitations.html): the handler asks
 * this pacer for those requests alone.
 */
export class HistoricalPacer {
  private entries: Entry[] = [];

  constructor(public limits: PacingLimits = IB_PACING) {}

  /** Returns the reason when the request breaks a rule, else records it and returns undefined. */
  check(k: HistoricalKey, nowMs: number): string | undefined {
    const L = this.limits;
    this.entries = this.entries.filter(
      (e) => e.time > nowMs - Math.max(L.totalWindowMs, L.identicalWindowMs, L.sameContractWindowMs),
    );
    const identity = JSON.stringify([
      k.conId,
      k.exchange,
      k.whatToShow,
      k.endDateTime,
      k.duration,
      k.barSize,
      k.useRTH,
    ]);
    const contractKey = JSON.stringify([k.conId, k.exchange, k.whatToShow]);
    const weight = k.whatToShow.toUpperCase() === 'BID_ASK' ? 2 : 1;
    if (this.entries.some((e) => e.identity === identity && e.time > nowMs - L.identicalWindowMs)) {
      return 'identical request within 15 seconds';
    }
    const same = this.entries
      .filter((e) => e.contractKey === contractKey && e.time > nowMs - L.sameContractWindowMs)
      .reduce((n, e) => n + e.weight, 0);
    if (same + weight >= L.sameContractMax)
      return 'six or more requests for the same contract, exchange and tick type within two seconds';
    const total = this.entries.filter((e) => e.time > nowMs - L.totalWindowMs).reduce((n, e) => n + e.weight, 0);
    if (total + weight > L.totalMax) return 'more than 60 requests within ten minutes';
    this.entries.push({ time: nowMs, identity, contractKey, weight });
    return undefined;
  }

  reset(): void {
    this.entries = [];
  }
}
