/**
 * IB gives an account about 100 market-data lines and 3 depth books, shared by every connection. Only the
 * proxy sees the streams of all workers, so it keeps the pool-wide count and refuses a new subscription that
 * would exceed the budget before any worker (and so IB, with error 101 / 309) sees it.
 *
 * Accounting follows how the workers share subscriptions: every caller of one subscription key lands on one
 * worker (sticky routing) and shares its IB subscription, so a key holds its lines once, however many
 * streams are open on it. A key's lines are released when its last open stream closes.
 */

export type BudgetKind = 'lines' | 'depth';

export interface BudgetUse {
  budget: number;
  inUse: number;
}

export type Admission =
  { ok: true; release(): void } | { ok: false; kind: BudgetKind; needed: number; budget: number; inUse: number };

interface Holding {
  kind: BudgetKind;
  weight: number;
  streams: number;
}

export class MarketDataBudgets {
  private readonly holdings = new Map<string, Holding>();
  private readonly used: Record<BudgetKind, number> = { lines: 0, depth: 0 };

  constructor(
    private readonly budgets: Record<BudgetKind, number>,
    private readonly onChange: (kind: BudgetKind, inUse: number) => void = () => undefined,
  ) {}

  /**
   * Admits one stream for `key`: free when the key already holds its lines, else only if `weight` more fit
   * the budget. The returned `release` must be called once the stream is closed (it is idempotent).
   */
  admit(key: string, kind: BudgetKind, weight: number): Admission {
    let holding = this.holdings.get(key);
    if (holding === undefined) {
      const budget = this.budgets[kind];
      if (this.used[kind] + weight > budget) return { ok: false, kind, needed: weight, budget, inUse: this.used[kind] };
      holding = { kind, weight, streams: 0 };
      this.holdings.set(key, holding);
      this.used[kind] += weight;
      this.onChange(kind, this.used[kind]);
    }
    holding.streams += 1;
    const held = holding;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        held.streams -= 1;
        if (held.streams > 0) return;
        this.holdings.delete(key);
        this.used[held.kind] -= held.weight;
        this.onChange(held.kind, this.used[held.kind]);
      },
    };
  }

  use(kind: BudgetKind): BudgetUse {
    return { budget: this.budgets[kind], inUse: this.used[kind] };
  }

  /** Open streams per kind (callers, not lines), for `/clients`. */
  streams(kind: BudgetKind): number {
    let n = 0;
    for (const h of this.holdings.values()) if (h.kind === kind) n += h.streams;
    return n;
  }
}
