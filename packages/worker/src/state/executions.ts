import type { CommissionData, ContractData, ExecutionData } from './types.js';

export interface ExecutionEntry {
  contract: ContractData;
  execution: ExecutionData;
  commissionReport?: CommissionData;
}

/** The filter of GET /executions, IB's ExecutionFilter fields. */
export interface ExecutionQuery {
  clientId?: number;
  acctCode?: string;
  /** "yyyyMMdd HH:mm:ss" (or with '-'): executions at or after this time. */
  time?: string;
  symbol?: string;
  secType?: string;
  exchange?: string;
  /** BUY or SELL (IB's executions say BOT / SLD). */
  side?: string;
}

/** Executions and their commission reports since the worker connected (and the day's, from the sync). */
export class ExecutionStore {
  /** The newest executions kept (IB's own list is the day's; older ones are in the order journal). */
  constructor(private readonly limit = 5_000) {}

  /** execId → entry, in arrival order */
  private readonly byExecId = new Map<string, ExecutionEntry>();
  /** execId → commission report that arrived before its execution */
  private readonly earlyCommissions = new Map<string, CommissionData>();

  addExecution(contract: ContractData, execution: ExecutionData): boolean {
    if (this.byExecId.has(execution.execId)) return false;
    const entry: ExecutionEntry = { contract: { ...contract }, execution: { ...execution } };
    const early = this.earlyCommissions.get(execution.execId);
    if (early !== undefined) {
      entry.commissionReport = early;
      this.earlyCommissions.delete(execution.execId);
    }
    this.byExecId.set(execution.execId, entry);
    if (this.byExecId.size > this.limit) this.byExecId.delete(this.byExecId.keys().next().value as string);
    const waiting = this.earlyCommissions;
    if (waiting.size > this.limit) waiting.delete(waiting.keys().next().value as string);
    return true;
  }

  addCommission(report: CommissionData): void {
    const entry = this.byExecId.get(report.execId);
    if (entry === undefined) this.earlyCommissions.set(report.execId, { ...report });
    else entry.commissionReport = { ...report };
  }

  get(execId: string): ExecutionEntry | undefined {
    return this.byExecId.get(execId);
  }

  query(q: ExecutionQuery = {}): ExecutionEntry[] {
    const side =
      q.side === undefined
        ? undefined
        : q.side.toUpperCase() === 'BUY'
          ? 'BOT'
          : q.side.toUpperCase() === 'SELL'
            ? 'SLD'
            : q.side;
    const since = q.time === undefined ? undefined : normalizeTime(q.time);
    return [...this.byExecId.values()].filter(({ contract, execution: e }) => {
      if (q.clientId !== undefined && e.clientId !== q.clientId) return false;
      if (q.acctCode !== undefined && e.acctNumber !== q.acctCode) return false;
      if (q.symbol !== undefined && contract.symbol?.toUpperCase() !== q.symbol.toUpperCase()) return false;
      if (q.secType !== undefined && contract.secType !== q.secType) return false;
      if (q.exchange !== undefined && e.exchange !== q.exchange && contract.exchange !== q.exchange) return false;
      if (side !== undefined && e.side !== side) return false;
      if (since !== undefined && (typeof e.time !== 'string' || normalizeTime(e.time) < since)) return false;
      return true;
    });
  }
}

/** "20240102-10:00:00", "20240102 10:00:00 UTC" → "20240102 10:00:00" (comparable as strings). */
function normalizeTime(t: string): string {
  return t.replace('-', ' ').slice(0, 17);
}
