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

/**
 * When each message arrived, as well as a single-threaded simulator can tell. IB's gateway reads every client's
 * socket as data comes and counts a message when it arrives. The simulator reads on one event loop; when that loop
 * was held up (a loaded machine, a long step of a test in the same process), everything that arrived meanwhile is
 * read at once and, stamped with the time it was read, would look like a burst no client sent. So messages read
 * after such a stall are stamped evenly across it, in the order they are read; outside stalls a message is stamped
 * when it is read. A client that really bursts still shows: its burst stays inside the stall's span.
 */
export class ArrivalClock {
  private lastTick = Date.now();
  private lastStamp = 0;
  private readonly timer: NodeJS.Timeout;
  private burst: { from: number; take: Array<(at: number) => void> } | undefined;

  constructor(
    /** How often the loop proves it runs. */
    private readonly tickMs = 10,
    /** A gap since the last tick above this is a stall. */
    private readonly stallMs = 50,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTick = this.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** The loop runs (called by the timer every `tickMs`). */
  tick(): void {
    this.lastTick = this.now();
  }

  /**
   * Gives `take` the message's arrival time: at once (returning what `take` returns) when the loop ran on time;
   * after a stall, once this turn of the loop has read everything that waited (returning undefined).
   */
  stamp<T>(take: (at: number) => T): T | undefined {
    const now = this.now();
    if (this.burst === undefined && now - this.lastTick <= this.stallMs) {
      this.lastStamp = Math.max(this.lastStamp, now);
      return take(this.lastStamp);
    }
    if (this.burst === undefined) {
      this.burst = { from: Math.max(this.lastTick, this.lastStamp), take: [] };
      setImmediate(() => this.flush());
    }
    this.burst.take.push(take as (at: number) => void);
    return undefined;
  }

  private flush(): void {
    const burst = this.burst!;
    this.burst = undefined;
    const to = this.now();
    const span = Math.max(0, to - burst.from);
    const n = burst.take.length;
    burst.take.forEach((take, i) => {
      const at = burst.from + Math.round((span * (i + 1)) / n);
      this.lastStamp = Math.max(this.lastStamp, at);
      take(at);
    });
    this.lastTick = to;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
