import { AccountStore } from './account.js';
import { ExecutionStore } from './executions.js';
import { OrderStore } from './orders.js';
import { PositionStore } from './positions.js';
import type { ContractData, MirrorChange, MirrorEvent, Position } from './types.js';

/**
 * The live mirror of one IB session's account state. `apply` is the one way in (the IB sync reports to
 * it); routes only read. Every change to positions, account values, PnL and executions is told to the
 * `onChange` listeners once (a repeat of the same value is no change). No sockets, no HTTP.
 */
export class Mirror {
  readonly orders: OrderStore;
  readonly positions = new PositionStore();
  readonly account: AccountStore;
  readonly executions = new ExecutionStore();
  private readonly listeners = new Set<(c: MirrorChange) => void>();

  constructor(clientId: number, now: () => Date = () => new Date()) {
    this.orders = new OrderStore(clientId, now);
    this.account = new AccountStore(now);
  }

  /** Listens to account changes; returns the unsubscribe. */
  onChange(fn: (c: MirrorChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(c: MirrorChange): void {
    for (const fn of this.listeners) fn(c);
  }

  private positionChanged(account: string, contract: ContractData, pos: number, avgCost?: number): void {
    this.changed({
      kind: 'position',
      account,
      key: `${account}:${contract.conId ?? 0}`,
      data: { account, contract, pos, avgCost },
    });
  }

  apply(event: MirrorEvent): void {
    switch (event.type) {
      case 'openOrder':
      case 'orderStatus':
      case 'orderError':
        this.orders.apply(event);
        return;
      case 'execution': {
        const added = this.executions.addExecution(event.contract, event.execution);
        this.orders.apply(event);
        if (added) this.executionChanged('execution', event.execution.execId);
        return;
      }
      case 'commission':
        this.executions.addCommission(event.report);
        this.orders.apply(event);
        this.executionChanged('commission', event.report.execId);
        return;
      case 'positionsBegin':
        this.positions.begin();
        return;
      case 'position':
        if (this.positions.set(event.account, event.contract, event.pos, event.avgCost)) {
          if (event.pos === 0) this.account.dropPositionPnl(event.account, event.contract.conId ?? 0);
          this.positionChanged(event.account, event.contract, event.pos, event.avgCost);
        }
        return;
      case 'positionsEnd':
        for (const p of this.positions.end()) {
          this.account.dropPositionPnl(p.account, p.contract.conId ?? 0);
          this.positionChanged(p.account, p.contract, 0);
        }
        return;
      case 'accountValue':
        if (this.account.setValue(event.account, event.key, event.value, event.currency)) {
          const { account, key: tag, currency } = event;
          const value = this.account
            .valuesOf(account, new Set([tag]))
            [tag]?.find((v) => v.currency === currency)?.value;
          this.changed({
            kind: 'value',
            account,
            key: `${account}:${tag}:${currency}`,
            data: { account, tag, currency, value },
          });
        }
        return;
      case 'pnl': {
        const p = this.account.setPnl(event.account, event.dailyPnL, event.unrealizedPnL, event.realizedPnL);
        if (p !== undefined) this.changed({ kind: 'pnl', account: event.account, key: event.account, data: { ...p } });
        return;
      }
      case 'positionPnl': {
        const { type: _t, ...rest } = event;
        const p = this.account.setPositionPnl(rest);
        if (p !== undefined)
          this.changed({
            kind: 'positionPnl',
            account: event.account,
            key: `${event.account}:${event.conId}`,
            data: { ...p },
          });
        return;
      }
      case 'accountDownloadEnd':
        this.account.downloadEnd(event.account);
        return;
    }
  }

  private executionChanged(kind: 'execution' | 'commission', execId: string): void {
    const entry = this.executions.get(execId);
    if (entry === undefined) return;
    const account = typeof entry.execution.acctNumber === 'string' ? entry.execution.acctNumber : '';
    this.changed({ kind, account, key: `exec:${execId}`, data: { ...entry } });
  }

  /** Positions of one account (all accounts when undefined). */
  positionsOf(account?: string): Position[] {
    return this.positions.all(account);
  }
}
