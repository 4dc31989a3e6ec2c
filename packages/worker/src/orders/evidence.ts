import { ApiError } from '@ibrest/common';
import { OrderNotFoundError, OrderNotModifiableError, OrderRejectedError } from '../errors.js';
import { classifyIbCode, ibErrorToApiError } from '../ib/error-codes.js';
import { FINAL_STATUSES } from '../state/orders.js';
import type { OrderRecord } from '../state/types.js';

/**
 * What a request waits for, per order:
 * - `submitted`: IB acknowledged the order as working (PreSubmitted / Submitted) or filled it;
 * - `filled`: IB filled it;
 * - `staged`: IB holds it untransmitted (`transmit: false`): any openOrder / orderStatus of it;
 * - `modified`: IB answered a modify (a new openOrder / orderStatus after the modify was sent);
 * - `cancelled`: IB cancelled it (Cancelled / ApiCancelled, or 202).
 */
export type Want = 'submitted' | 'filled' | 'staged' | 'modified' | 'cancelled';

/** One order a request waits on, with what IB had said about it before the request was sent. */
export interface Watch {
  record: OrderRecord;
  want: Want;
  /** `record.errors.length` when the request was sent: only later errors answer it. */
  errorsFrom: number;
  /** `record.ibMessages` when the request was sent (`modified` waits for a later one). */
  messagesFrom: number;
}

export type Verdict =
  /** IB's evidence says the request succeeded. */
  | { kind: 'answered' }
  /** IB said no: the caller gets this error (4xx with IB's code and text). */
  | { kind: 'refused'; error: ApiError }
  /** Nothing decisive yet; `settling` when the order ended without a reason (IB's error may trail it). */
  | { kind: 'pending'; settling?: boolean };

const WORKING = new Set(['PreSubmitted', 'Submitted', 'Filled']);
/** Order warnings with a request id that leave the order working (399 "will be placed at the open", 404 locate). */
const ORDER_NOTICES = new Set([399, 404]);

/** The request was a user cancel seen by a `wait=filled`, not an IB refusal. */
export class OrderCancelledError extends ApiError {
  constructor(orderId: number, status: string, details: Record<string, unknown> = {}) {
    const message = `Order ${orderId} was cancelled (${status}) before it filled`;
    super(409, 'ORDER_CANCELLED', message, { details: { orderId, status, ...details } });
  }
}

/** IB's verdict on one order, from the record alone (pure: the same record always gives the same verdict). */
export function judge(w: Watch, operation: string): Verdict {
  const r = w.record;
  const refuses = (e: { code: number }) => classifyIbCode(e.code) === 'request' && !ORDER_NOTICES.has(e.code);
  const refusal = r.errors.slice(w.errorsFrom).find(refuses);
  if (refusal !== undefined) {
    const { code, message } = refusal;
    if (w.want === 'cancelled') {
      if (code === 202) return { kind: 'answered' };
      if (code === 10147 || code === 135) return { kind: 'refused', error: new OrderNotFoundError(r.orderId, code) };
      if (code === 10148 || code === 161) {
        return { kind: 'refused', error: new OrderNotModifiableError(r.orderId, r.status, code) };
      }
    }
    if (w.want === 'filled' && code === 202) {
      const error = new OrderCancelledError(r.orderId, r.status, { ibCode: code, ibMessage: message });
      return { kind: 'refused', error };
    }
    const error = ibErrorToApiError(code, message, { operation, orderId: r.orderId });
    // IB refused this order: whatever the code, that is the caller's answer (4xx with IB's code), never a 5xx.
    if (error.status >= 500) {
      return { kind: 'refused', error: new OrderRejectedError(message, code, { operation, orderId: r.orderId }) };
    }
    return { kind: 'refused', error };
  }
  if (!r.acknowledged) return { kind: 'pending' };
  const s = r.status;
  switch (w.want) {
    case 'staged':
      return { kind: 'answered' };
    case 'modified':
      return r.ibMessages > w.messagesFrom ? { kind: 'answered' } : { kind: 'pending' };
    case 'cancelled':
      if (s === 'Cancelled' || s === 'ApiCancelled') return { kind: 'answered' };
      if (s === 'Filled' || s === 'Inactive') {
        return { kind: 'refused', error: new OrderNotModifiableError(r.orderId, s) };
      }
      return { kind: 'pending' };
    case 'submitted':
      if (WORKING.has(s)) return { kind: 'answered' };
      // Cancelled / Inactive without a reason yet: IB's error may be a message behind.
      return FINAL_STATUSES.has(s) ? { kind: 'pending', settling: true } : { kind: 'pending' };
    case 'filled':
      if (s === 'Filled') return { kind: 'answered' };
      return FINAL_STATUSES.has(s) ? { kind: 'pending', settling: true } : { kind: 'pending' };
  }
}

/**
 * What a settling order means once IB's trailing error did not come: for `submitted`, IB's own answer
 * (the order exists and ended at once, e.g. an IOC that found nothing); for `filled`, a cancel.
 */
export function settled(w: Watch): Verdict {
  const r = w.record;
  if (w.want === 'filled') return { kind: 'refused', error: new OrderCancelledError(r.orderId, r.status) };
  return { kind: 'answered' };
}

/** The verdict on every order of one request: the first refusal wins; answered when all are. */
export function judgeAll(watches: readonly Watch[], operation: string): Verdict {
  let settling = true;
  let pending = false;
  for (const w of watches) {
    const v = judge(w, operation);
    if (v.kind === 'refused') return v;
    if (v.kind === 'pending') {
      pending = true;
      settling &&= v.settling === true;
    }
  }
  if (!pending) return { kind: 'answered' };
  return settling ? { kind: 'pending', settling: true } : { kind: 'pending' };
}
