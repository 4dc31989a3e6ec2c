import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadline } from '../ib/deadline.js';

/**
 * What the order path needs to know about the HTTP request behind an order operation. The route wrapper
 * sets it; `orderHooks.beforeSend`/`afterSend` (called deep inside the order service) read it, so the
 * service itself stays free of HTTP concerns.
 */
export interface OrderRequestContext {
  reqId: string;
  /** The API key's name as the proxy forwards it in `X-IBRest-Key` (never the secret). */
  apiKeyName?: string;
  /** Store key (the caller's Idempotency-Key, scoped by API key name) when the request carries one. */
  idempotencyKey?: string;
  /** `orderRefForKey(idempotencyKey)`: stamped on placed orders so they can be found after any crash. */
  orderRef?: string;
  /** Set once beforeSend made the order id durable: from here on the request may have reached IB. */
  attached: boolean;
  /** Order ids the request's operations were given (journalled as accepted). */
  orderIds?: number[];
  /** Messages handed to IB for this request. */
  sent: number;
  /** The request's deadline (a policy price lookup must not outlive it). */
  deadline?: Deadline;
}

export const orderRequestContext = new AsyncLocalStorage<OrderRequestContext>();

/** The single value of a request header (first one if repeated). */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}
