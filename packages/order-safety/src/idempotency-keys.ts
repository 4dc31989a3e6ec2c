import { createHash } from 'node:crypto';
import { ApiError } from '@ibrest/common';

/** The header this package's keys come from, as IETF's draft names it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** 400: the Idempotency-Key header is empty, too long, holds non-printable characters, or was sent twice. */
export class IdempotencyKeyInvalidError extends ApiError {
  constructor(key: unknown, problem?: string) {
    const cut = typeof key === 'string' && key.length > 40 ? `${key.slice(0, 40)}…` : key;
    const shown = typeof key === 'string' ? JSON.stringify(cut) : typeof key;
    super(
      400,
      'IDEMPOTENCY_KEY_INVALID',
      problem ?? `Expected header Idempotency-Key to be 1-255 printable ASCII characters after trimming, got ${shown}`,
      { details: { header: IDEMPOTENCY_KEY_HEADER, ...(typeof key === 'string' ? { length: key.length } : {}) } },
    );
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

/** 1-255 printable ASCII characters without leading or trailing space (trim first: {@link parseIdempotencyKey}). */
export function isValidIdempotencyKey(key: unknown): key is string {
  // Printable ASCII without leading or trailing space (a key is trimmed before it is checked).
  return typeof key === 'string' && KEY_RE.test(key) && key.trim() === key;
}

/**
 * The Idempotency-Key of a request, from Node's raw headers (`req.rawHeaders`, the flat name/value list) or from
 * `req.headersDistinct` (every value of every header), so that two headers are seen as two instead of joined into
 * one key: absent → undefined; the value trimmed of white space, then 1-255 printable ASCII characters; a second
 * `Idempotency-Key` header (any case) → 400 `IDEMPOTENCY_KEY_INVALID` naming the header.
 */
export function parseIdempotencyKey(
  headers: readonly string[] | Record<string, readonly string[] | undefined>,
): string | undefined {
  let values: string[];
  if (Array.isArray(headers)) {
    const raw = headers as readonly string[];
    values = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i]!.toLowerCase() === 'idempotency-key') values.push(raw[i + 1]!);
    }
  } else {
    values = [];
    for (const [name, list] of Object.entries(headers as Record<string, readonly string[] | undefined>)) {
      if (name.toLowerCase() === 'idempotency-key' && list) values.push(...list);
    }
  }
  if (values.length === 0) return undefined;
  if (values.length > 1) {
    throw new IdempotencyKeyInvalidError(
      undefined,
      `Expected one Idempotency-Key header, got ${values.length}: send the key once`,
    );
  }
  const key = values[0]!.trim();
  if (!isValidIdempotencyKey(key)) throw new IdempotencyKeyInvalidError(values[0]!);
  return key;
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
 * Query parameters left out of the fingerprint. `timeout` only bounds how long the request waits for IB before it
 * answers 504, and a 504 is never stored as an answer (the key then follows its order), so two requests that differ
 * only in `timeout` cannot get different final answers. Everything else counts, `wait` included (it decides when and
 * with what the request answers).
 */
export const FINGERPRINT_IGNORED_QUERY = ['timeout'] as const;

/**
 * Fingerprint of a request for conflict detection: SHA-256 hex over method, path (the concrete path,
 * `/order/12`), the query parameters except {@link FINGERPRINT_IGNORED_QUERY} (sorted by name; repeated parameters
 * keep their order) and the canonical JSON body. Headers are not part of it.
 */
export function requestHash(
  method: string,
  path: string,
  body: unknown,
  query?: URLSearchParams | Record<string, unknown>,
): string {
  const q = canonicalQuery(query);
  // Without a query the text is what earlier versions hashed, so their stored keys still match.
  const text = `${method.toUpperCase()}\n${path}\n${q === '' ? '' : `?${q}\n`}${canonicalJson(body ?? null)}`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `a=1&b=2&b=3`: names sorted, values of one name in their order, ignored parameters dropped. */
export function canonicalQuery(query?: URLSearchParams | Record<string, unknown>): string {
  if (query === undefined) return '';
  const pairs: [string, string][] = [];
  const entries: [string, unknown][] = query instanceof URLSearchParams ? [...query.entries()] : Object.entries(query);
  for (const [name, value] of entries) {
    if ((FINGERPRINT_IGNORED_QUERY as readonly string[]).includes(name) || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      pairs.push([name, typeof v === 'string' ? v : canonicalJson(v)]);
    }
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}
