import type { Capability } from './capabilities.js';
import { historicalRequest } from './historical.js';
import { marketDataLines } from './market-data.js';
import type { Query } from './query.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Scope = 'read' | 'trade' | 'admin';

/**
 * Where the proxy sends a request of the route:
 * - `local`: never forwarded; the proxy answers the path itself (its health, metrics, pool view, document);
 * - `order`: the order worker (clientId 0, TWS's Master API client): orders, and whatever only the master
 *   client sees (every client's executions and commission reports);
 * - `any`: the least busy worker whose capabilities cover `needs`;
 * - `sticky`: one worker per identity (see `sticky`), chosen by rendezvous hash among those that qualify.
 */
export type Target = 'local' | 'order' | 'any' | 'sticky';

/**
 * How a `sticky` route's identity is computed:
 * - `subscription`: stream requests (SSE / Atom) by subscription key (path + sorted query without
 *   presentation parameters), so every caller of one subscription shares it on one worker; one-shot
 *   requests of the route go to `any` worker;
 * - `request`: every request by its request identity (the key the worker coalesces and caches on), so an
 *   identical request reaches the worker that holds the answer.
 */
export type StickyBy = 'subscription' | 'request';

/** Identity of a request for `sticky: 'request'` routes (the key the worker coalesces and caches on). */
export type RequestIdentity = (q: Query) => string;

/** Pool-wide IB allowances a stream holds while it is open. */
export type BudgetClass = 'lines' | 'depth';

export interface Budget {
  class: BudgetClass;
  /** Units the stream holds, from the same parser the worker subscribes with. */
  weight(q: Query): number;
}

export interface RouteEntry {
  /** The worker's operationId (proxy-local routes: the proxy's). */
  id: string;
  method: HttpMethod;
  /** Express style: `/order/:orderId`. */
  path: string;
  /** Which process registers the route: the worker's route table or the proxy itself. */
  owner: 'worker' | 'proxy';
  target: Target;
  sticky?: StickyBy;
  /** For `sticky: 'request'`: computes the identity. */
  identity?: RequestIdentity;
  /** Capabilities a worker must report for the proxy to send it this route (empty: any live worker). */
  needs: readonly Capability[];
  /** API-key scope; null: open (health probes). */
  scope: Scope | null;
  /** May the proxy send the request to another worker when the connection to the first one failed? */
  retry: boolean;
  budget?: Budget;
  /**
   * Pool-wide pacing class checked by the proxy before forwarding: `historical` = IB's count rules for bars of
   * 30 s or less and IB's limit of 50 simultaneous historical requests; `historical-open` = that limit alone.
   */
  pacing?: 'historical' | 'historical-open';
  /** Inside an IB maintenance window: `blocked` (503 IB_MAINTENANCE_WINDOW) or `served` (mirror, journal, local). */
  maintenance: 'blocked' | 'served';
  /** Accepts `Idempotency-Key` (order writes): the worker stores and replays the answer. */
  idempotent?: boolean;
}

const LINES: Budget = { class: 'lines', weight: marketDataLines };
const ONE_LINE: Budget = { class: 'lines', weight: () => 1 };
const ONE_BOOK: Budget = { class: 'depth', weight: () => 1 };

type Spec = Omit<RouteEntry, 'method' | 'path' | 'id' | 'owner'>;

const entry = (owner: RouteEntry['owner'], id: string, method: HttpMethod, path: string, spec: Spec): RouteEntry => ({
  id,
  method,
  path,
  owner,
  ...spec,
});

/** Order writes: never retried (one that reached the worker may have reached IB), blocked in a window. */
const orderWrite = (scope: Scope, idempotent: boolean): Spec => ({
  target: 'order',
  needs: ['orders'],
  scope,
  retry: false,
  maintenance: 'blocked',
  ...(idempotent ? { idempotent } : {}),
});
/** Reads answered from the order worker's mirror or journal: served in a maintenance window. */
const orderRead: Spec = { target: 'order', needs: ['mirror'], scope: 'read', retry: true, maintenance: 'served' };
/** Reads answered from any worker's mirror. */
const mirrorRead: Spec = { target: 'any', needs: ['mirror'], scope: 'read', retry: true, maintenance: 'served' };
/** One-shot reads that ask IB. */
const ibRead = (...needs: Capability[]): Spec => ({
  target: 'any',
  needs: ['link', ...needs],
  scope: 'read',
  retry: true,
  maintenance: 'blocked',
});
/** Feeds: streams pinned by subscription key. */
const feed = (needs: Capability[], budget?: Budget): Spec => ({
  target: 'sticky',
  sticky: 'subscription',
  needs: ['link', ...needs],
  scope: 'read',
  retry: true,
  maintenance: 'blocked',
  ...(budget === undefined ? {} : { budget }),
});
const workerLocal: Spec = { target: 'local', needs: [], scope: null, retry: true, maintenance: 'served' };

const w = (id: string, method: HttpMethod, path: string, spec: Spec): RouteEntry =>
  entry('worker', id, method, path, spec);
const p = (id: string, method: HttpMethod, path: string, spec: Spec): RouteEntry =>
  entry('proxy', id, method, path, spec);

/**
 * Every route of the product, once. The worker's route table must register exactly the `worker` entries
 * (a test fails otherwise); the proxy routes, authorises, paces, budgets and applies maintenance windows
 * from these fields and nothing else.
 */
export const ROUTES: readonly RouteEntry[] = [
  // orders (worker 0)
  w('listOrders', 'GET', '/order', orderRead),
  w('placeOrder', 'POST', '/order', orderWrite('trade', true)),
  w('cancelOrderSeed', 'DELETE', '/order', orderWrite('trade', true)),
  w('listOrderEvents', 'GET', '/order/events', { ...orderRead, needs: [] }),
  // A preview places nothing: it needs the link, not writable order storage.
  w('whatIfOrder', 'POST', '/order/whatif', { ...orderWrite('trade', false), needs: ['link'] }),
  w('globalCancel', 'POST', '/order/global-cancel', orderWrite('admin', false)),
  w('globalCancelDelete', 'DELETE', '/order/global-cancel', orderWrite('admin', false)),
  w('getOrder', 'GET', '/order/:orderId', orderRead),
  w('modifyOrder', 'PUT', '/order/:orderId', orderWrite('trade', true)),
  w('cancelOrder', 'DELETE', '/order/:orderId', orderWrite('trade', true)),
  // any order by IB's permId (other clients' and TWS orders too); changes only of this worker's own
  w('getOrderByPermId', 'GET', '/order/perm/:permId', orderRead),
  w('modifyOrderByPermId', 'PUT', '/order/perm/:permId', orderWrite('trade', true)),
  w('cancelOrderByPermId', 'DELETE', '/order/perm/:permId', orderWrite('trade', true)),
  // executions: IB gives a non-master client only its own executions and commission reports
  w('listExecutions', 'GET', '/executions', orderRead),
  // account: every managed account followed in the mirror (values, positions, PnL of accounts and positions);
  // `format=sse` streams them from the mirror (event ids name the worker: a resume elsewhere starts from the state)
  w('listAccounts', 'GET', '/accounts', mirrorRead),
  w('getAccountUpdates', 'GET', '/account/updates', mirrorRead),
  w('getPositions', 'GET', '/account/positions', mirrorRead),
  w('getAccountSummary', 'GET', '/account/summary', ibRead()),
  w('getPnL', 'GET', '/account/pnl', mirrorRead),
  // contracts
  w('getContractDetails', 'GET', '/contract', ibRead('secDef')),
  w('searchContracts', 'GET', '/contract/search', ibRead('secDef')),
  w('getOptionChains', 'GET', '/contract/options', ibRead('secDef')),
  // historical: pinned by request identity so identical requests meet the worker's coalesced / cached answer
  w('getHistoricalBars', 'GET', '/historical', {
    ...ibRead('historical'),
    target: 'sticky',
    sticky: 'request',
    identity: (q) => historicalRequest('bars', q).identity,
    pacing: 'historical',
  }),
  w('getHeadTimestamp', 'GET', '/historical/head-timestamp', {
    ...ibRead('historical'),
    target: 'sticky',
    sticky: 'request',
    identity: (q) => historicalRequest('head', q).identity,
    pacing: 'historical-open',
  }),
  w('getHistoricalTicks', 'GET', '/historical/ticks', { ...ibRead('historical'), pacing: 'historical-open' }),
  // market data feeds
  w('getMarketData', 'GET', '/market/data', feed(['marketData'], LINES)),
  w('getMarketDepth', 'GET', '/market/depth', feed(['marketData'], ONE_BOOK)),
  w('getMarketDepthExchanges', 'GET', '/market/depth/exchanges', ibRead()),
  w('getRealTimeBars', 'GET', '/bars', feed(['marketData'], ONE_LINE)),
  w('getMarketScanner', 'GET', '/market/scanners', feed([])),
  w('getScannerParameters', 'GET', '/market/scanners/parameters', ibRead()),
  w('getFundamentalData', 'GET', '/fundamental', feed([])),
  // news
  w('getNewsBulletins', 'GET', '/news', feed([])),
  w('getNewsProviders', 'GET', '/news/providers', ibRead()),
  w('getNewsHeadlines', 'GET', '/news/headlines', feed([])),
  w('getNewsArticle', 'GET', '/news/article', ibRead()),
  // display groups and FA configuration
  w('getDisplayGroups', 'GET', '/displaygroups', feed([])),
  w('updateDisplayGroup', 'PUT', '/displaygroups/:groupId', { ...ibRead(), scope: 'trade', retry: false }),
  w('getFinancialAdvisorConfig', 'GET', '/financial', feed([])),
  w('replaceFinancialAdvisorConfig', 'PUT', '/financial', { ...ibRead(), scope: 'trade', retry: false }),
  // the worker's own health, metrics and document: through the proxy these paths are the proxy's
  w('live', 'GET', '/health/live', workerLocal),
  w('ready', 'GET', '/health/ready', workerLocal),
  w('metrics', 'GET', '/metrics', workerLocal),
  w('openapi', 'GET', '/openapi.json', workerLocal),
  // the proxy's own routes
  p('proxyLive', 'GET', '/health/live', workerLocal),
  p('proxyReady', 'GET', '/health/ready', workerLocal),
  p('proxyMetrics', 'GET', '/metrics', { ...workerLocal, scope: 'read' }),
  p('proxyOpenApi', 'GET', '/openapi.json', workerLocal),
  p('listClients', 'GET', '/clients', { ...workerLocal, scope: 'read' }),
].map((e) => Object.freeze(e));

export function workerRoutes(): RouteEntry[] {
  return ROUTES.filter((r) => r.owner === 'worker');
}

export function routeById(id: string): RouteEntry {
  const r = ROUTES.find((x) => x.id === id);
  if (r === undefined) throw new Error(`no route ${id} in the manifest`);
  return r;
}
