import type { MetricsRegistries } from '@ibrest/common';
import type { AccountFeed } from '../feeds/account-feed.js';
import type { AccountRequests } from '../ib/account-requests.js';
import type { IbConnection } from '../ib/connection.js';
import type { ContractService } from '../ib/contracts.js';
import type { HistoricalService } from '../ib/historical.js';
import type { MarketDataService } from '../ib/market-data.js';
import type { Requests } from '../ib/requests.js';
import type { Mirror } from '../state/mirror.js';
import type { FeedRouteDeps } from './feeds-common.js';
import type { OrderRouteDeps } from './orders.js';

/** What the routes may use: services and read-only state, never the IB socket. */
export interface RouteDeps {
  conn: Pick<
    IbConnection,
    'health' | 'state' | 'serving' | 'retryAfterSeconds' | 'session' | 'clientId' | 'capabilities' | 'accounts'
  >;
  requests: Pick<Requests, 'assertServing' | 'assertMirror'>;
  mirror: Mirror;
  /** The order write pipeline and the order lookups the order routes need. */
  orderPath: OrderRouteDeps;
  contracts: ContractService;
  marketData: MarketDataService;
  historical: HistoricalService;
  account: AccountRequests;
  registries: MetricsRegistries;
  openapi: () => unknown;
  /** Whether requests must carry the proxy token (IBREST_INTERNAL_TOKEN set): readiness says so. */
  proxyTokenRequired?: boolean;
  /** IB_TIME_ZONE: the zone of IB's time strings that name none. */
  timeZone: string;
  /** Push streams of the mirror's account state (positions, values, PnL, executions). */
  accountFeed: AccountFeed;
  /** Streaming feeds (SSE / Atom) and their one-shot IB requests. */
  feeds: FeedRouteDeps;
}

/** The managed account to use when the caller names none (the first of the session). */
export function defaultAccount(deps: RouteDeps, given: unknown): string | undefined {
  if (typeof given === 'string') return given;
  return deps.conn.accounts[0];
}
