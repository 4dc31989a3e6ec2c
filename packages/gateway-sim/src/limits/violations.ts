/** One rule broken by a client, as the simulator recorded it. */
export interface Violation {
  code: number;
  clientId: number | undefined;
  reqId?: number;
  text: string;
  /** Epoch ms. */
  time: number;
}

/**
 * Every limit violation and refusal, counted by IB error code (100 message rate, 162 historical pacing,
 * 101 market-data lines, 326 clientId in use …). Tests assert these stay at zero.
 */
export class Violations {
  private list: Violation[] = [];
  private readonly counts = new Map<number, number>();

  record(v: Violation): void {
    this.list.push(v);
    if (this.list.length > 10_000) this.list.shift();
    this.counts.set(v.code, (this.counts.get(v.code) ?? 0) + 1);
  }

  /** Counters by code, e.g. `{ "100": 2, "162": 1 }`. */
  byCode(): Record<string, number> {
    return Object.fromEntries([...this.counts].map(([k, v]) => [String(k), v]));
  }

  count(code?: number): number {
    if (code === undefined) return [...this.counts.values()].reduce((a, b) => a + b, 0);
    return this.counts.get(code) ?? 0;
  }

  recent(): readonly Violation[] {
    return this.list;
  }

  reset(): void {
    this.list = [];
    this.counts.clear();
  }
}
