import { param, type Query } from './query.js';

/** IB contract fields a GET route takes from its query string (field names as IB spells them). */
export const CONTRACT_FIELDS = [
  'conId',
  'symbol',
  'secType',
  'lastTradeDateOrContractMonth',
  'strike',
  'right',
  'multiplier',
  'exchange',
  'primaryExch',
  'currency',
  'localSymbol',
  'tradingClass',
] as const;

export type ContractField = (typeof CONTRACT_FIELDS)[number];

interface Defaultable {
  conId?: unknown;
  symbol?: unknown;
  secType?: unknown;
  exchange?: unknown;
  currency?: unknown;
}

/**
 * The documented defaults of a contract given in a query: a `symbol` without `conId` is a stock
 * (`secType` STK), and a stock defaults to SMART / USD. Fills `c` in place and returns it.
 */
export function applyContractDefaults<T extends Defaultable>(c: T): T {
  if (c.conId === undefined && c.symbol !== undefined) {
    c.secType ??= 'STK';
    if (c.secType === 'STK') {
      c.exchange ??= 'SMART';
      c.currency ??= 'USD';
    }
  }
  return c;
}

/**
 * The contract fields given in a query, as strings, with the documented defaults: a `symbol` without
 * `conId` is a stock (`secType` STK) and a stock defaults to SMART / USD. Numbers are written canonically
 * (`150.0` and `150` are one strike).
 */
export function contractFieldsOf(q: Query): Partial<Record<ContractField, string>> {
  const c: Partial<Record<ContractField, string>> = {};
  for (const k of CONTRACT_FIELDS) {
    const v = param(q, k);
    if (v !== undefined) c[k] = k === 'conId' || k === 'strike' ? canonicalNumber(v) : v;
  }
  return applyContractDefaults(c);
}

function canonicalNumber(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) ? String(n) : v;
}
