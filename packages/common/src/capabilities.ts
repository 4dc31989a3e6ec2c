/**
 * What a worker can serve now, one name per thing a route may need. The proxy routes a request only to workers
 * whose capabilities cover the route's needs; the worker reports them in `GET /health/ready`.
 *
 * This vocabulary moves to `@ibrest/contract` (the route manifest); this module then re-exports it from there.
 */
export const CAPABILITIES = ['link', 'mirror', 'orders', 'marketData', 'historical', 'secDef'] as const;

/**
 * - `link`: socket up, handshake done, initial sync of the session done, no 1100 outstanding;
 * - `mirror`: the initial account/order sync completed at least once in this process (reads from the mirror);
 * - `orders`: link + order storage writable + order ids known (meaningful on the order worker);
 * - `marketData`: link and no market-data farm down (2104/2108 OK, 2103 down);
 * - `historical`: link and no HMDS farm down (2106/2107 OK, 2105 down);
 * - `secDef`: link and no sec-def farm down (2158 OK, 2157 down).
 */
export type Capability = (typeof CAPABILITIES)[number];

export interface CapabilityStatus {
  ok: boolean;
  /** Why it is not ok (or, for an ok mirror while the link is down, how it is served). */
  reason?: string;
  /** ISO time of the last change of `ok`. */
  since?: string;
}

export type Capabilities = Record<Capability, CapabilityStatus>;

export function isCapability(name: string): name is Capability {
  return (CAPABILITIES as readonly string[]).includes(name);
}

/** The stable code of "no worker can serve capability X" (`marketData` → `MARKET_DATA_UNAVAILABLE`). */
export function capabilityUnavailableCode(capability: Capability): string {
  return `${capability.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}_UNAVAILABLE`;
}
