import type { PortfolioItem, Position } from './types.js';

/** A value as IB reports it: a number where IB means a number (with its currency beside it), text otherwise. */
export interface AccountValue {
  value: number | string;
  currency: string;
}

/** PnL of an account (reqPnL). */
export interface AccountPnL {
  account: string;
  dailyPnL?: number;
  unrealizedPnL?: number;
  realizedPnL?: number;
  /** ISO 8601 time the worker received it. */
  updatedAt: string;
}

/** PnL of one position (reqPnLSingle). */
export interface PositionPnL {
  account: string;
  conId: number;
  pos?: number;
  dailyPnL?: number;
  unrealizedPnL?: number;
  realizedPnL?: number;
  /** Market value of the position. */
  value?: number;
  updatedAt: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** IB sends every account value as text: numbers become numbers, anything else (codes, flags) stays text. */
export function typedValue(raw: string): number | string {
  const t = raw.trim();
  if (NUMBER.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return n;
  }
  return raw;
}

/** IB's "unset" double (Double.MAX_VALUE) and NaN mean "no value". */
function num(v: number | undefined): number | undefined {
  return v === undefined || !Number.isFinite(v) || Math.abs(v) >= 1e300 ? undefined : v;
}

/**
 * Account values (reqAccountUpdatesMulti, one subscription per managed account), keyed by account, tag AND
 * currency (IB reports many tags once per currency), plus account PnL (reqPnL) and position PnL
 * (reqPnLSingle). Setters answer whether anything changed, so streams send one event per change.
 */
export class AccountStore {
  /** account → `${tag}|${currency}` → value */
  private readonly values = new Map<string, Map<string, { key: string; raw: string; currency: string }>>();
  /** account → PnL */
  private readonly pnl = new Map<string, AccountPnL>();
  /** account → conId → position PnL */
  private readonly positionPnl = new Map<string, Map<number, PositionPnL>>();
  /** account → ISO time of the last value change */
  private readonly updated = new Map<string, string>();
  /** Accounts whose initial download finished. */
  private readonly downloaded = new Set<string>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  setValue(account: string, key: string, value: string, currency: string): boolean {
    let m = this.values.get(account);
    if (m === undefined) this.values.set(account, (m = new Map()));
    const id = `${key}|${currency}`;
    const prev = m.get(id);
    if (prev !== undefined && prev.raw === value) return false;
    m.set(id, { key, raw: value, currency });
    this.updated.set(account, this.now().toISOString());
    return true;
  }

  setPnl(account: string, dailyPnL?: number, unrealizedPnL?: number, realizedPnL?: number): AccountPnL | undefined {
    const next = { dailyPnL: num(dailyPnL), unrealizedPnL: num(unrealizedPnL), realizedPnL: num(realizedPnL) };
    const prev = this.pnl.get(account);
    if (
      prev &&
      prev.dailyPnL === next.dailyPnL &&
      prev.unrealizedPnL === next.unrealizedPnL &&
      prev.realizedPnL === next.realizedPnL
    ) {
      return undefined;
    }
    const entry: AccountPnL = { account, ...next, updatedAt: this.now().toISOString() };
    this.pnl.set(account, entry);
    return entry;
  }

  setPositionPnl(p: Omit<PositionPnL, 'updatedAt'>): PositionPnL | undefined {
    let m = this.positionPnl.get(p.account);
    if (m === undefined) this.positionPnl.set(p.account, (m = new Map()));
    const next = {
      account: p.account,
      conId: p.conId,
      pos: num(p.pos),
      dailyPnL: num(p.dailyPnL),
      unrealizedPnL: num(p.unrealizedPnL),
      realizedPnL: num(p.realizedPnL),
      value: num(p.value),
    };
    const prev = m.get(p.conId);
    const same = prev !== undefined && (Object.keys(next) as (keyof typeof next)[]).every((k) => prev[k] === next[k]);
    if (same) return undefined;
    const entry: PositionPnL = { ...next, updatedAt: this.now().toISOString() };
    m.set(p.conId, entry);
    return entry;
  }

  dropPositionPnl(account: string, conId: number): void {
    this.positionPnl.get(account)?.delete(conId);
  }

  getPnl(account: string): AccountPnL | undefined {
    return this.pnl.get(account);
  }

  getPositionPnl(account: string, conId: number): PositionPnL | undefined {
    return this.positionPnl.get(account)?.get(conId);
  }

  positionPnls(account?: string): PositionPnL[] {
    const out: PositionPnL[] = [];
    for (const [acct, m] of this.positionPnl) if (account === undefined || acct === account) out.push(...m.values());
    return out;
  }

  downloadEnd(account: string): void {
    this.downloaded.add(account);
  }

  isDownloaded(account: string): boolean {
    return this.downloaded.has(account);
  }

  accounts(): string[] {
    return [...this.values.keys()];
  }

  /** `{ tag: [{ value, currency }, …] }`: one entry per currency IB reported the tag in. */
  valuesOf(account: string, tags?: ReadonlySet<string>): Record<string, AccountValue[]> {
    const out: Record<string, AccountValue[]> = {};
    for (const v of this.values.get(account)?.values() ?? []) {
      if (tags !== undefined && !tags.has(v.key)) continue;
      (out[v.key] ??= []).push({ value: typedValue(v.raw), currency: v.currency });
    }
    return out;
  }

  /**
   * `{ account, updatedAt, values, portfolio }` of one account. The portfolio joins the account's positions
   * (reqPositions) with their PnL (reqPnLSingle): market value and price, unrealized, realized and daily PnL.
   */
  snapshot(account: string, positions: Position[]) {
    const portfolio: PortfolioItem[] = positions.map((p) => {
      const pnl = this.getPositionPnl(account, p.contract.conId ?? 0);
      const mult = Number(p.contract.multiplier) || 1;
      const marketPrice = pnl?.value !== undefined && p.pos !== 0 ? pnl.value / (p.pos * mult) : undefined;
      return {
        account,
        contract: p.contract,
        position: p.pos,
        ...(marketPrice !== undefined ? { marketPrice: Number(marketPrice.toFixed(6)) } : {}),
        ...(pnl?.value !== undefined ? { marketValue: pnl.value } : {}),
        ...(p.avgCost !== undefined ? { averageCost: p.avgCost } : {}),
        ...(pnl?.unrealizedPnL !== undefined ? { unrealizedPNL: pnl.unrealizedPnL } : {}),
        ...(pnl?.realizedPnL !== undefined ? { realizedPNL: pnl.realizedPnL } : {}),
        ...(pnl?.dailyPnL !== undefined ? { dailyPNL: pnl.dailyPnL } : {}),
      };
    });
    return { account, updatedAt: this.updated.get(account), values: this.valuesOf(account), portfolio };
  }
}
