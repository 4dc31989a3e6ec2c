import type { Capability } from '@ibrest/common';

/**
 * What a route needs of a worker, by method and normalized path.
 *
 * TEMPORARY: the route manifest (`@ibrest/contract`, field `needs`) replaces this function; until it lands this
 * is the only place the proxy writes needs down. Paths not named here need the IB link.
 */
export function routeNeeds(method: string, path: string, target: string): Capability[] {
  if (target === 'local') return [];
  const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  const under = (prefix: string): boolean => path === prefix || path.startsWith(prefix + '/');
  if (under('/order')) {
    // The journal feed is answered from the worker's own storage, whatever IB's state.
    if (path === '/order/events') return [];
    if (path === '/order/whatif') return ['link'];
    return safe ? ['mirror'] : ['orders'];
  }
  if (!safe) return ['link'];
  if (path === '/account/positions' || path === '/account/updates' || path === '/executions') return ['mirror'];
  if (under('/historical')) return ['historical'];
  if (under('/market/data') || under('/market/depth') || under('/bars')) return ['marketData'];
  if (under('/contract')) return ['secDef'];
  return ['link'];
}
