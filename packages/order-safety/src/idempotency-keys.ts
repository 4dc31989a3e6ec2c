import { createHash } from 'node:crypto';
import { ApiError } from '@ibrest/common';

/** 400: the Idempotency-Key header is empty, too long or holds non-printable characters. */
export class IdempotencyKeyInvalidError extends ApiError {
  constructor(key: unknown) {
    const shown = typeof key === 'string' ? JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key) : typeof key;
    super(400, 'IDEMPOTENCY_KEY_INVALID', `Expected Idempotency-Key to be 1-255 printable ASCII characters, got ${shown}`, {
      details: { length: typeof key === 'string' ? key.length : undefined },
    });
  }
}

/** 409: the key was used before with a different request. */
export class IdempotencyKeyReusedError extends ApiError {
  constructor(key: string) {
    super(409, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request', {
      details: { idempotencyKey: key },
    });
  }
}

const KEY_RE = /^[\x20-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_RE.test(key);
}

export function assertValidIdempotencyKey(key: unknown): asserts key is string {
  if (!isValidIdempotencyKey(key)) throw new IdempotencyKeyInvalidError(key);
}

/** Every orderRef this package derives starts with this, so reconciliation can tell keyed orders apart. */
export const ORDER_REF_PREFIX = 'ik1-';

/**
 * The IB `orderRef` for a key: `ik1-` + the first 24 hex digits (96 bits) of SHA-256(key), 28 characters.
 * Deterministic, so after any crash the order can be found again from the key alone (open orders, completed
 * orders and executions all carry orderRef). Hashed rather than the raw key because keys may be up to 255
 * characters of arbitrary ASCII while orderRef is shown in TWS and should stay short and plain; 96 bits make an
 * accidental collision between two keys negligible. The `1` is a scheme version.
 */
export function orderRefForKey(key: string): string {
  assertValidIdempotencyKey(key);
  return ORDER_REF_PREFIX + createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 24);
}

/**
 * JSON with object keys sorted at every level and no whitespace, so two bodies that mean the same thing
 * (`{"a":1,"b":2}` and `{ "b": 2, "a": 1 }`) hash the same. `undefined` members are dropped as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return canonicalJson(json.call(value));
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/**
 * Fingerprint of a request for conflict detection: SHA-256 hex over method, path and canonical JSON body.
 * Headers are not part of it; the path should be the route path (`/order/12`), without volatile query
 * parameters such as `timeout`.
 */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${path}\n${canonicalJson(body ?? null)}`, 'utf8')
    .digest('hex');
}
