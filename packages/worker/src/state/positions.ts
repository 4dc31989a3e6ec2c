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

  /** Records a position; answers whether it changed (a repeat of the same row is no change). */
  set(account: string, contract: ContractData, pos: number, avgCost?: number): boolean {
    const conId = contract.conId ?? 0;
    let accountMap = this.byAccount.get(account);
    if (accountMap === undefined) this.byAccount.set(account, (accountMap = new Map()));
    const prev = accountMap.get(conId);
    if (pos === 0) {
      // IB reports a closed position as 0 until the next session; callers expect it gone.
      return accountMap.delete(conId);
    }
    if (prev !== undefined && prev.pos === pos && prev.avgCost === avgCost) {
      this.refreshed?.add(prev);
      return false;
    }
    const p: Position = { account, contract: { ...contract }, pos, avgCost };
    accountMap.set(conId, p);
    this.refreshed?.add(p);
    return true;
  }

  /** Ends a snapshot; answers the positions that were not repeated (closed meanwhile) and are now gone. */
  end(): Position[] {
    const refreshed = this.refreshed;
    this.refreshed = undefined;
    if (refreshed === undefined) return [];
    const gone: Position[] = [];
    for (const accountMap of this.byAccount.values()) {
      for (const [conId, p] of accountMap) {
        if (refreshed.has(p)) continue;
        accountMap.delete(conId);
        gone.push(p);
      }
    }
    return gone;
  }

  accounts(): string[] {
    return [...this.byAccount.keys()];
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
