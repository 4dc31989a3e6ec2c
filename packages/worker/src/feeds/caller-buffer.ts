import type { FeedEvent } from './types.js';

/**
 * The events one caller has not been sent yet, in delivery order, never more than `capacity`.
 * It only fills while the caller's socket is blocked (a slow or stalled reader). Then an event with a
 * `field` replaces the queued one of the same topic+field (latest value wins; it moves to the back so ids
 * stay increasing), and when full the oldest event is evicted. Every event that will never be delivered is
 * reported through `onDrop`.
 */
export class CallerBuffer {
  /** coalesce key (`topic|field`, or `#id` for events that never coalesce) → event */
  private readonly queue = new Map<string, FeedEvent>();

  constructor(
    readonly capacity: number,
    private readonly onDrop: (n: number) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`Expected capacity to be an integer ≥ 1, got ${capacity}`);
  }

  get size(): number {
    return this.queue.size;
  }

  push(e: FeedEvent): void {
    const key = e.field !== undefined ? `${e.topic}|${e.field}` : `#${e.id}`;
    if (this.queue.delete(key)) this.onDrop(1);
    else if (this.queue.size >= this.capacity) {
      const oldest = this.queue.keys().next().value as string;
      this.queue.delete(oldest);
      this.onDrop(1);
    }
    this.queue.set(key, e);
  }

  shift(): FeedEvent | undefined {
    const first = this.queue.entries().next();
    if (first.done === true) return undefined;
    this.queue.delete(first.value[0]);
    return first.value[1];
  }

  clear(): void {
    this.queue.clear();
  }
}
