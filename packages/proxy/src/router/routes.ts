import type { Capability } from '@ibrest/common';
import type { Scope } from '../security/api-keys.js';
import { routeNeeds } from './needs.js';

/**
 * Where a request goes and what it needs. Decided once per request from method + normalized path, before
 * auth (auth needs `scope`) and before any admission check (pacing needs `pacing`).
 */
export interface Route {
  /** Small enum for logs: never the raw path. */
  name: RouteName;
  /** `local`: answered by the proxy; `order`: pinned to clientId 0; `balanced`/`sticky`: any read worker. */
  target: 'local' | 'order' | 'balanced' | 'sticky';
  /** Scope the API key must hold; null = open (health probes). */
  scope: Scope | null;
  /** Order writes are never retried: one that reached worker 0 may have reached IB. */
  orderWrite: boolean;
  /** For `sticky`: every caller of one subscription lands on the same worker. */
  stickyKey?: string;
  /** Pool-wide pacing class checked before forwarding. */
  pacing?: 'historical';
  /**
   * Pool-wide IB subscription budget a stream on this route holds while it is open: `lines` (market-data
   * lines: `/market/data`, `/bars`) or `depth` (depth books: `/market/depth`). Scanners, news and the other
   * feeds count against neither.
   */
  budget?: 'lines' | 'depth';
  /**
   * False when the worker answers from its own mirror or the proxy answers itself, so the request is served
   * during an IB maintenance window; true when it needs a live IB connection.
   */
  needsIb: boolean;
  /** Capabilities a worker must report for the request to be sent to it. */
  needs: Capability[];
}

export type RouteName =
  | 'health-live'
  | 'health-ready'
  | 'clients'
  | 'metrics'
  | 'order-read'
  | 'order-write'
  | 'global-cancel'
  | 'historical'
  | 'feed'
  | 'read'
  | 'write';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Subscription feeds (SSE / Atom) whose callers share one IB subscription per key. */
const FEED_PATHS = ['/market/data', '/market/depth', '/bars', '/news', '/market/scanners', '/fundamental', '/displaygroups'];

/** Presentation-only parameters: SSE and Atom callers of one subscription share it. */
const NON_KEY_PARAMS = new Set(['format', 'timeout']);

export const GLOBAL_CANCEL_PATH = '/order/global-cancel';

/**
 * Reads that workers answer from the state they mirror (positions, account values, PnL, orders, executions)
 * or from the order journal (`/order/events`), without a round trip to IB: they keep working through an IB
 * maintenance window. Order reads (`GET /order…`) are covered by their route name.
 */
export const MIRROR_READ_PATHS = ['/account/positions', '/account/summary', '/account/updates', '/account/pnl', '/executions'];

export function isOrderPath(path: string): boolean {
  return path === '/order' || path.startsWith('/order/');
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '/');
}

function isStreamRequest(accept: string, query: URLSearchParams): boolean {
  const format = query.get('format')?.toLowerCase();
  return format === 'sse' || format === 'atom' || /text\/event-stream|application\/atom\+xml/i.test(accept);
}

/** `path?sorted query` without presentation parameters: the identity of one subscription. */
export function subscriptionKey(path: string, query: URLSearchParams): string {
  const pairs = [...query].filter(([k]) => !NON_KEY_PARAMS.has(k)).sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  return path + '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface RouteInput {
  method: string;
  /** Decoded, lower-cased, dot-segment-free path with single slashes (see http/normalize.ts). */
  path: string;
  query: URLSearchParams;
  accept: string;
  metricsAuth: 'none' | 'key';
}

function classifyBase(input: RouteInput): Omit<Route, 'needsIb' | 'needs'> {
  const { method, path, query } = input;
  const safe = SAFE_METHODS.has(method);
  if (path === '/health/live') return { name: 'health-live', target: 'local', scope: null, orderWrite: false };
  if (path === '/health/ready') return { name: 'health-ready', target: 'local', scope: null, orderWrite: false };
  if (path === '/metrics') return { name: 'metrics', target: 'local', scope: input.metricsAuth === 'key' ? 'read' : null, orderWrite: false };
  // Pool administration beyond the read-only view needs admin.
  if (under(path, '/clients')) return { name: 'clients', target: 'local', scope: safe ? 'read' : 'admin', orderWrite: false };
  if (isOrderPath(path)) {
    if (path === GLOBAL_CANCEL_PATH) return { name: 'global-cancel', target: 'order', scope: 'admin', orderWrite: true };
    return safe
      ? { name: 'order-read', target: 'order', scope: 'read', orderWrite: false }
      : { name: 'order-write', target: 'order', scope: 'trade', orderWrite: true };
  }
  if (!safe) return { name: 'write', target: 'balanced', scope: 'trade', orderWrite: false };
  if (under(path, '/historical')) return { name: 'historical', target: 'balanced', scope: 'read', orderWrite: false, pacing: 'historical' };
  if (FEED_PATHS.some((p) => under(path, p)) && isStreamRequest(input.accept, query)) {
    const budget = under(path, '/market/depth') ? 'depth' : under(path, '/market/data') || under(path, '/bars') ? 'lines' : undefined;
    return { name: 'feed', target: 'sticky', scope: 'read', orderWrite: false, stickyKey: subscriptionKey(path, query), ...(budget === undefined ? {} : { budget }) };
  }
  return { name: 'read', target: 'balanced', scope: 'read', orderWrite: false };
}

export function classify(input: RouteInput): Route {
  const base = classifyBase(input);
  const servedWithoutIb =
    base.target === 'local' ||
    base.name === 'order-read' ||
    (SAFE_METHODS.has(input.method) && MIRROR_READ_PATHS.some((p) => under(input.path, p)));
  return { ...base, needsIb: !servedWithoutIb, needs: routeNeeds(input.method, input.path, base.target) };
}
