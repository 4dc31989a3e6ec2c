import type { ContractData, Position } from './types.js';

/**
 * Positions as IB reports them through reqPositions. A (re)sync is a snapshot: entries not repeated
 * between positionsBegin and positionsEnd are gone (closed while we were disconnected).
 */
export class PositionStore {
  /** account → conId → position */
  private readonly byAccount = new Map<string, Map<number, Position>>();
  /** Entries seen since the current snapshot began (undefined outside a snapshot). */
  private refreshed: Set<Position> | undefined;

  begin(): void {
    this.refreshed = new Set();
  }

  set(account: string, contract: ContractData, pos: number, avgCost?: number): void {
    const conId = contract.conId ?? 0;
    let accountMap = this.byAccount.get(account);
    if (accountMap === undefined) this.byAccount.set(account, (accountMap = new Map()));
    if (pos === 0) {
      // IB reports a closed position as 0 until the next session; callers expect it gone.
      accountMap.delete(conId);
      return;
    }
    const p: Position = { account, contract: { ...contract }, pos, avgCost };
    accountMap.set(conId, p);
    this.refreshed?.add(p);
  }

  end(): void {
    const refreshed = this.refreshed;
    this.refreshed = undefined;
    if (refreshed === undefined) return;
    for (const accountMap of this.byAccount.values()) {
      for (const [conId, p] of accountMap) if (!refreshed.has(p)) accountMap.delete(conId);
    }
  }

  all(account?: string): Position[] {
    const out: Position[] = [];
    for (const [acct, accountMap] of this.byAccount) {
      if (account !== undefined && acct !== account) continue;
      out.push(...accountMap.values());
    }
    return out;
  }

  get(account: string, conId: number): Position | undefined {
    return this.byAccount.get(account)?.get(conId);
  }
}
