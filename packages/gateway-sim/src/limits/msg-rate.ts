/** How inbound messages are counted against the rate limit. */
export type RateMode = 'per-client' | 'combined';

export interface RateVerdict {
  /** True when this message pushed its window over the limit for the first time (one error per window). */
  violated: boolean;
  /** Messages in the current one-second window, including this one. */
  received: number;
  /** Violations so far for the counted key (the connection, or all connections in combined mode). */
  strikes: number;
}

/**
 * IB's inbound message limit: at most `maxPerSecond` messages in any one-second window. Each window that
 * goes over is one violation (error 100); the third violation disconnects the client. In combined mode
 * every connection shares one window, as older IB documentation describes the limit.
 */
export class MessageRateLimiter {
  /** key → timestamps (ms) of messages in the last second */
  private readonly windows = new Map<string, number[]>();
  /** key → whether the current over-limit burst already produced an error */
  private readonly flagged = new Map<string, boolean>();
  private readonly strikes = new Map<string, number>();

  constructor(
    public maxPerSecond: number,
    public mode: RateMode,
  ) {}

  private key(connectionId: number): string {
    return this.mode === 'combined' ? 'all' : String(connectionId);
  }

  hit(connectionId: number, nowMs: number): RateVerdict {
    const k = this.key(connectionId);
    const w = this.windows.get(k) ?? [];
    while (w.length > 0 && w[0]! <= nowMs - 1000) w.shift();
    w.push(nowMs);
    this.windows.set(k, w);
    if (w.length <= this.maxPerSecond) {
      this.flagged.set(k, false);
      return { violated: false, received: w.length, strikes: this.strikes.get(k) ?? 0 };
    }
    if (this.flagged.get(k)) return { violated: false, received: w.length, strikes: this.strikes.get(k) ?? 0 };
    this.flagged.set(k, true);
    const strikes = (this.strikes.get(k) ?? 0) + 1;
    this.strikes.set(k, strikes);
    return { violated: true, received: w.length, strikes };
  }

  forget(connectionId: number): void {
    if (this.mode === 'combined') return;
    const k = this.key(connectionId);
    this.windows.delete(k);
    this.flagged.delete(k);
    this.strikes.delete(k);
  }

  reset(): void {
    this.windows.clear();
    this.flagged.clear();
    this.strikes.clear();
  }
}
