import { contractFieldsOf } from './contract-query.js';
import { param, type Query } from './query.js';

/** Contracts one market-data request may carry (`symbols` / `conIds`). */
export const MAX_STREAM_CONTRACTS = 50;

/**
 * The contracts a market-data request names, in the form the worker subscribes them:
 * - `symbols=A,B,…`: one contract per distinct symbol (the other contract fields as template);
 * - `conIds=1,2,…`: one contract per distinct conId;
 * - otherwise the single contract of the contract fields (`symbol` or `conId`).
 * Each item is one IB subscription (one market-data line while streamed). Both lists given is a caller
 * error the worker refuses; counted here as the longer list so an estimate is never low.
 */
export interface MarketDataItems {
  form: 'single' | 'symbols' | 'conIds';
  items: string[];
}

function list(v: string | undefined): string[] {
  if (v === undefined) return [];
  return [
    ...new Set(
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

export function marketDataItems(q: Query): MarketDataItems {
  const symbols = list(param(q, 'symbols'));
  const conIds = list(param(q, 'conIds'));
  if (symbols.length > 0 && symbols.length >= conIds.length) return { form: 'symbols', items: symbols };
  if (conIds.length > 0) return { form: 'conIds', items: conIds };
  const c = contractFieldsOf(q);
  return { form: 'single', items: [c.conId !== undefined ? `conId=${c.conId}` : (c.symbol ?? '')] };
}

/** How many IB subscriptions (market-data lines while streamed) a request holds: at least 1. */
export function marketDataLines(q: Query): number {
  return Math.max(1, marketDataItems(q).items.length);
}
