import {
  isStreamRequest,
  ROUTES,
  RouteMatcher,
  subscriptionKey,
  type BudgetClass,
  type Capability,
  type RouteEntry,
  type Scope,
} from '@ibrest/contract';

/**
 * Where a request goes and what it needs, read from the route manifest (@ibrest/contract) by method and
 * normalized path, once per request: before auth (auth needs `scope`) and before any admission check
 * (pacing, budgets and maintenance read their fields). Nothing about a route is written here.
 */
export interface Route {
  /** The manifest id (the worker's operationId), or `not-found` / `method-not-allowed`: never the raw path. */
  name: string;
  /** The manifest entry; undefined for a path the manifest does not know or a method it does not allow. */
  entry?: RouteEntry;
  /**
   * This request's target: the entry's, except that a `sticky: 'subscription'` route asked for a one-shot
   * answer goes to `any` worker (only streams share a subscription).
   */
  target: RouteEntry['target'];
  /** Capabilities a worker must report to be sent this request. */
  needs: readonly Capability[];
  /** Scope the API key must hold; null = open. */
  scope: Scope | null;
  /** May be sent to another worker when the connection to the first failed before any byte. */
  retry: boolean;
  /** For `sticky`: the identity every equal request is pinned by (subscription key or request identity). */
  stickyKey?: string;
  /** Pool-wide pacing class checked before forwarding. */
  pacing?: RouteEntry['pacing'];
  /** Pool-wide allowance a stream holds while open, and how many units (from the request, as the worker parses it). */
  budget?: { class: BudgetClass; weight: number };
  /** In an IB maintenance window: refused with 503 (`blocked`) or let through (`served`). */
  maintenance: 'blocked' | 'served';
  /** For `method-not-allowed`: the methods the path allows (the `Allow` header). */
  allow?: string[];
}

export interface RouteInput {
  method: string;
  /** Decoded, lower-cased, dot-segment-free path with single slashes (see http/normalize.ts). */
  path: string;
  query: URLSearchParams;
  accept: string;
  metricsAuth: 'none' | 'key';
}

/**
 * Through the proxy a path is the proxy's own when the proxy declares it (its health, metrics, document and
 * pool view), else the workers'. The worker's own health / metrics / document are not reachable through it.
 */
const proxyRoutes = new RouteMatcher(ROUTES.filter((r) => r.owner === 'proxy'));
const workerRoutes = new RouteMatcher(ROUTES.filter((r) => r.owner === 'worker' && r.target !== 'local'));

const LOCAL = { target: 'local', needs: [], scope: null, retry: false, maintenance: 'served' } as const;

export function classify(input: RouteInput): Route {
  let m = proxyRoutes.match(input.method, input.path);
  if (m.kind === 'none') m = workerRoutes.match(input.method, input.path);
  if (m.kind === 'none') return { name: 'not-found', ...LOCAL };
  if (m.kind === 'method') return { name: 'method-not-allowed', ...LOCAL, allow: m.allow };
  const e = m.entry;
  const route: Route = {
    name: e.id,
    entry: e,
    target: e.target,
    needs: e.needs,
    scope: e.scope,
    retry: e.retry,
    maintenance: e.maintenance,
  };
  if (e.id === 'proxyMetrics' && input.metricsAuth === 'none') route.scope = null;
  if (e.pacing !== undefined) route.pacing = e.pacing;
  if (e.sticky === 'request' && e.identity !== undefined) route.stickyKey = e.identity(input.query);
  if (e.sticky === 'subscription') {
    if (isStreamRequest(input.accept, input.query)) {
      route.stickyKey = subscriptionKey(input.path, input.query);
      if (e.budget !== undefined) route.budget = { class: e.budget.class, weight: e.budget.weight(input.query) };
    } else {
      route.target = 'any';
    }
  }
  return route;
}
