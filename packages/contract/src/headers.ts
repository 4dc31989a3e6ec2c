/**
 * Headers between the proxy and the workers. Every incoming `x-ibrest-*` header is removed by the proxy
 * before anything else looks at the request; only the proxy sets them, after authenticating the caller.
 */
export const INTERNAL_HEADER_PREFIX = 'x-ibrest-';

export const INTERNAL_HEADERS = {
  /** Name (never the secret) of the API key that made the request: audit log, per-key order policy, key scoping. */
  key: 'x-ibrest-key',
  /** The key's scopes, comma-separated (`read,trade`). */
  scopes: 'x-ibrest-scopes',
  /** Shared secret proving the request came through the proxy (IBREST_INTERNAL_TOKEN). */
  proxyToken: 'x-ibrest-proxy-token',
} as const;

/** Response header of a mirror read served while the IB link is down: seconds since the mirror was last current. */
export const MIRROR_AGE_HEADER = 'x-ibrest-mirror-age';

/** Client request header naming one order write (POST/PUT/DELETE on orders). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Response header set when an answer is the replay of an earlier request with the same Idempotency-Key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

export function isInternalHeader(name: string): boolean {
  return name.toLowerCase().startsWith(INTERNAL_HEADER_PREFIX);
}
