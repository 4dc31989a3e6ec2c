/**
 * What a worker can serve right now, one name per thing IB can take away on its own. A worker reports each
 * in `GET /health/ready` (`capabilities.<name>.ok`); the proxy sends a request only to workers whose
 * capabilities cover the `needs` of its route.
 * - `link`: socket up, handshake done, no 1100 (connectivity lost) outstanding;
 * - `mirror`: the initial account / order sync finished at least once (mirror reads can be answered);
 * - `orders`: link + order storage writable + order ids known (meaningful on the order worker);
 * - `marketData`: market-data farm usable (2104 OK, 2108 inactive-on-demand; 2103 down);
 * - `historical`: historical data farm (HMDS) usable (2106 OK, 2107 inactive-on-demand; 2105 down);
 * - `secDef`: security-definition farm usable (2158 OK; 2157 down).
 * Routes list `link` beside a farm so a worker without the link is never chosen, whatever its farm state.
 */
export const CAPABILITIES = ['link', 'mirror', 'orders', 'marketData', 'historical', 'secDef'] as const;

export type Capability = (typeof CAPABILITIES)[number];

export function isCapability(name: string): name is Capability {
  return (CAPABILITIES as readonly string[]).includes(name);
}
