import type { PortfolioItem } from './types.js';

export interface AccountValue {
  value: string;
  currency: string;
}

/** Account values and portfolio from reqAccountUpdates (IB streams them for one account at a time). */
export class AccountStore {
  /** account → `${key}` or `${key}:${currency}` → value */
  private readonly values = new Map<string, Map<string, AccountValue & { key: string }>>();
  /** account → conId → portfolio item */
  private readonly portfolio = new Map<string, Map<number, PortfolioItem>>();
  /** account → last update time IB reported ("HH:mm") */
  private readonly updateTimes = new Map<string, string>();
  /** Accounts whose initial download finished (accountDownloadEnd). */
  private readonly downloaded = new Set<string>();
  private current: string | undefined;

  setValue(account: string, key: string, value: string, currency: string): void {
    this.current = account;
    let m = this.values.get(account);
    if (m === undefined) this.values.set(account, (m = new Map()));
    m.set(currency ? `${key}:${currency}` : key, { key, value, currency });
  }

  setPortfolio(item: PortfolioItem): void {
    this.current = item.account;
    let m = this.portfolio.get(item.account);
    if (m === undefined) this.portfolio.set(item.account, (m = new Map()));
    const conId = item.contract.conId ?? 0;
    if (item.position === 0) m.delete(conId);
    else m.set(conId, { ...item, contract: { ...item.contract } });
  }

  setUpdateTime(time: string): void {
    if (this.current !== undefined) this.updateTimes.set(this.current, time);
  }

  downloadEnd(account: string): void {
    this.downloaded.add(account);
  }

  isDownloaded(account: string): boolean {
    return this.downloaded.has(account);
  }

  accounts(): string[] {
    return [...new Set([...this.values.keys(), ...this.portfolio.keys()])];
  }

  /** `{ account, updateTime, values: { key: { value, currency } | [..] }, portfolio: [...] }` per account. */
  snapshot(account: string) {
    const values: Record<string, AccountValue[]> = {};
    for (const v of this.values.get(account)?.values() ?? []) (values[v.key] ??= []).push({ value: v.value, currency: v.currency });
    return {
      account,
      updateTime: this.updateTimes.get(account),
      values,
      portfolio: [...(this.portfolio.get(account)?.values() ?? [])],
    };
  }
}
