/**
 * Identical requests share one IB request: while one is in flight, later callers get its promise; a
 * successful answer is served again for `cacheMs` (IB refuses an identical historical request within
 * 15 s anyway, so a fresh one could not be had sooner).
 */
export class Coalescer<T> {
  /** request key → in-flight or recently finished answer */
  private readonly entries = new Map<string, { promise: Promise<T>; expiresAt: number }>();

  constructor(
    private readonly cacheMs: number,
    private readonly onShared: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  run(key: string, start: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.expiresAt > this.now()) {
      this.onShared();
      return hit.promise;
    }
    const promise = start();
    const entry = { promise, expiresAt: Number.POSITIVE_INFINITY };
    this.entries.set(key, entry);
    promise.then(
      () => {
        if (this.cacheMs <= 0) this.drop(key, entry);
        else {
          entry.expiresAt = this.now() + this.cacheMs;
          setTimeout(() => this.drop(key, entry), this.cacheMs).unref();
        }
      },
      // Failures are never cached: the next caller gets a fresh attempt.
      () => this.drop(key, entry),
    );
    return promise;
  }

  /** Forgets every cached answer (a new IB session may answer differently). */
  clear(): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt !== Number.POSITIVE_INFINITY) this.entries.delete(key);
  }

  private drop(key: string, entry: { promise: Promise<T> }): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
