import PQueue from 'p-queue';
import { PacingLimitError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';

/** Higher runs first. Cancels free IB resources, order operations are time-critical; sync can wait. */
export const PRIORITY = { background: 0, request: 1, order: 2, cancel: 3 } as const;

export interface PacerOptions {
  /** Messages per second (IB_MSG_RATE). */
  rate: number;
  metrics?: WorkerMetrics;
  now?: () => number;
  /** Length of the sliding window in ms. @default 1000 */
  windowMs?: number;
}

/**
 * Every outbound IB message passes through here: a strict sliding window (p-queue `strict`) of `rate`
 * messages per `windowMs`. Callers with a deadline are told up front, with the exact wait, when their
 * message could not leave in time, so nothing is queued that would be answered too late.
 */
export class Pacer {
  private readonly queue: PQueue;
  private readonly rate: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly metrics?: WorkerMetrics;
  /** Send times of the last `rate` messages, oldest first (for the wait estimate). */
  private readonly sent: number[] = [];

  constructor(options: PacerOptions) {
    this.rate = options.rate;
    this.windowMs = options.windowMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
    // p-queue orders by priority, one message at a time; the window is ours. p-queue's own `strict` interval
    // mode let a message start a few ms (under load, hundreds of ms) before the window allowed it.
    this.queue = new PQueue({ concurrency: 1 });
    this.metrics?.pacerBudget.set(this.rate * (1000 / this.windowMs));
  }

  get depth(): number {
    return this.queue.size + this.queue.pending;
  }

  /**
   * When the n-th message from now (n = 1 for the next) would leave, replaying the sliding window over
   * the messages already queued.
   */
  estimateSendAt(n: number = this.depth + 1): number {
    const now = this.now();
    const times = this.sent.filter((t) => t > now - this.windowMs);
    let at = now;
    for (let i = 0; i < n; i++) {
      at = Math.max(now, this.earliest(times));
      times.push(at);
    }
    return at;
  }

  /**
   * Sends one IB message (`fn` must make exactly one IB call). Rejects with 429 before queueing when
   * the message could not leave before `deadlineAt`. `fn` runs at send time, so it can refuse a message
   * whose session ended while it waited (stale requests must never reach the next session).
   */
  async send<T>(kind: string, fn: () => T, options: { deadlineAt?: number; priority?: number } = {}): Promise<T> {
    if (options.deadlineAt !== undefined) {
      const at = this.estimateSendAt(this.depth + 1);
      if (at > options.deadlineAt) {
        this.metrics?.pacingRejections.inc({ kind: 'messages' });
        throw new PacingLimitError(
          'messages',
          `The IB message budget (${this.rate}/s) is taken: ` +
            `${this.queue.size} messages are queued ahead of this ${kind}`,
          (at - options.deadlineAt) / 1000,
          undefined,
          { queued: this.queue.size, rate: this.rate },
        );
      }
    }
    const enqueued = this.now();
    this.metrics?.pacerQueueDepth.set(this.depth + 1);
    try {
      const sent = await this.queue.add(
        async () => {
          for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
          this.mark();
          this.metrics?.pacerWait.observe((this.now() - enqueued) / 1000);
          // Wrapped: the queue moves on once the message is sent, not once `fn`'s answer arrives.
          return { value: fn() };
        },
        { priority: options.priority ?? PRIORITY.request },
      );
      return await sent.value;
    } finally {
      this.metrics?.pacerQueueDepth.set(this.depth);
    }
  }

  /** Milliseconds until one more message may leave (0 or less: now). */
  private waitMs(): number {
    return this.earliest(this.sent) - this.now();
  }

  /**
   * The earliest time the next message may leave after `times` (send times, oldest first): at most `rate` in
   * any window, and spread at least window/rate apart. IB counts arrivals: a burst sent at the window's edge
   * arrives spread by the network and the receiver, and its last messages land in the next burst's window; evenly
   * spaced messages need a delay of a whole gap to do that. The sustained rate is the same.
   */
  private earliest(times: readonly number[]): number {
    const last = times.at(-1);
    const gapAt = last === undefined ? -Infinity : last + this.windowMs / this.rate;
    const windowAt = times.length < this.rate ? -Infinity : times[times.length - this.rate]! + this.windowMs;
    return Math.max(gapAt, windowAt);
  }

  private mark(): void {
    this.sent.push(this.now());
    if (this.sent.length > this.rate) this.sent.splice(0, this.sent.length - this.rate);
    this.metrics?.pacerMessages.inc();
  }
}
