import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createLogger, createRegistries, type Logger, type MetricsRegistries } from '@ibrest/common';
import { createApp, withTimeout } from './app.js';
import type { WorkerConfig } from './config.js';
import { buildOpenApi } from './http/openapi.js';
import type { RouteDef } from './http/route.js';
import { AccountRequests } from './ib/account-requests.js';
import { IbConnection } from './ib/connection.js';
import type { CapabilityTracker } from './ib/capabilities.js';
import { ContractService } from './ib/contracts.js';
import { HistoricalService } from './ib/historical.js';
import { MarketDataLines } from './ib/market-data-lines.js';
import { MarketDataService } from './ib/market-data.js';
import { OrderIds } from './ib/order-ids.js';
import { OrderService } from './ib/order-service.js';
import { Pacer } from './ib/pacer.js';
import { Requests } from './ib/requests.js';
import { SubscriptionRegistry } from './ib/subscriptions.js';
import { Sync } from './ib/sync.js';
import { AccountFollower } from './ib/account-follow.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { allRoutes } from './routes/index.js';
import { Mirror } from './state/mirror.js';
import { DepthBooks } from './feeds/depth-books.js';
import { FeedHub } from './feeds/hub.js';
import { AccountFeed } from './feeds/account-feed.js';
import { FeedRequests } from './ib/feed-requests.js';
import { NewsService } from './ib/news.js';
import { openOrderSafety, type OrderSafety } from './orders/order-safety.js';

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
})();

export interface WorkerHandle {
  /** Bound HTTP port (useful with PORT=0). */
  port: number;
  host: string;
  url: string;
  config: WorkerConfig;
  connection: IbConnection;
  /**
   * What the worker can serve now; `capabilities.reportOrderStorage(writable, reason)` is how the order store
   * takes `orders` out of readiness after a failed write and brings it back after a good one.
   */
  capabilities: CapabilityTracker;
  mirror: Mirror;
  orders: OrderService;
  subscriptions: SubscriptionRegistry;
  /** Fan-out of IB subscriptions to SSE/Atom callers. */
  feeds: FeedHub;
  /** Journal, idempotency store, audit log, reconciler, clientId lease. */
  safety: OrderSafety;
  metrics: WorkerMetrics;
  registries: MetricsRegistries;
  routes: RouteDef[];
  log: Logger;
  /** Resolves once the IB connection is ready (or rejects after `timeoutMs`). */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Stops accepting requests, waits for in-flight ones (bounded), disconnects from IB. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Time source of maintenance windows, the journal, the idempotency store and the audit log. @default Date.now */
  clock?: () => number;
}

/**
 * Composition root: builds every part in dependency order (ib → state → routes → http), starts the IB
 * connection and listens. The process entry (main.ts) and in-process tests both use it.
 */
export async function startWorker(config: WorkerConfig, options: StartOptions = {}): Promise<WorkerHandle> {
  const log = (options.logger ?? createLogger('ibrest-worker', config.logLevel)).child({ clientId: config.clientId });
  const registries = createRegistries();
  const metrics = createWorkerMetrics(registries.app, { clientId: config.clientId, version: VERSION });

  const safety = await openOrderSafety(config, {
    log: log.child({ component: 'order-safety' }),
    metrics,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const conn = new IbConnection({
    lease: safety.lease,
    host: config.ibHost,
    port: config.ibPort,
    clientId: config.clientId,
    // Our pacer is the one limiter. @stoqey/ib's own (a bucket of rate/10 per 100 ms) only delays: at the same rate
    // it held back part of every burst the pacer had already counted, so those messages left in the pacer's next
    // window and IB saw up to 8 in one second from a 6/s pacer. Ten times the rate never queues a burst.
    libraryRate: config.msgRate * 10,
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
    connectTimeoutMs: config.connectTimeoutMs,
    log: log.child({ component: 'ib' }),
    metrics,
  });
  const publishCapabilities = () => {
    for (const [name, s] of Object.entries(conn.capabilities.snapshot())) {
      metrics.capabilityUp.set({ capability: name }, s.ok ? 1 : 0);
    }
  };
  publishCapabilities();
  conn.capabilities.on('change', publishCapabilities);
  // A failed write takes `orders` out of readiness (the proxy then refuses order operations, reads go on); the
  // storage's own probe brings it back once a write commits again.
  const reportStorage = (h: { ok: boolean; reason?: string }) => conn.capabilities.reportOrderStorage(h.ok, h.reason);
  reportStorage(safety.storage.health());
  const stopStorageReport = safety.storage.onHealthChange(reportStorage);
  const pacer = new Pacer({ rate: config.msgRate, metrics });
  const requests = new Requests(conn, pacer, log.child({ component: 'requests' }), metrics);
  const mirror = new Mirror(config.clientId);
  safety.lease.onChange((clientId) => mirror.orders.useClientId(clientId));
  const orderIds = new OrderIds();
  const lines = new MarketDataLines(config.marketDataLines, metrics);
  const subscriptions = new SubscriptionRegistry(conn, requests, lines, log.child({ component: 'subscriptions' }));
  const follower = new AccountFollower(subscriptions, mirror, {
    maxPositions: config.pnlPositionsMax,
    log: log.child({ component: 'pnl' }),
  });
  const sync = new Sync(conn, requests, mirror, orderIds, {
    syncTimeoutMs: config.syncTimeoutMs,
    log: log.child({ component: 'sync' }),
    metrics,
    timeZone: config.ibTimeZone,
    onAccounts: (accounts) => follower.follow(accounts),
  });
  const orders = new OrderService(requests, mirror, orderIds, log.child({ component: 'orders' }), metrics);
  const contracts = new ContractService(requests, metrics);
  const marketData = new MarketDataService(requests, lines, metrics);
  const historical = new HistoricalService(requests, config.historicalCacheMs, metrics, config.ibTimeZone);
  const account = new AccountRequests(requests, follower, metrics);
  const feedHub = new FeedHub({
    registry: subscriptions,
    conn,
    depthBooks: new DepthBooks(config.feeds.depthBooks, metrics),
    bufferEvents: config.feeds.bufferEvents,
    historyEvents: config.feeds.historyEvents,
    metrics,
    log: log.child({ component: 'feeds' }),
  });
  const accountFeed = new AccountFeed(mirror, conn, {
    historyEvents: config.feeds.historyEvents,
    bufferEvents: config.feeds.bufferEvents,
    metrics,
    idPrefix: `${config.clientId}.${Date.now().toString(36)}.`,
  });
  const feeds = {
    hub: feedHub,
    ib: new FeedRequests(conn, requests, metrics),
    news: new NewsService(requests, metrics),
    settings: config.feeds,
    requests,
  };

  const attached = safety.attach({ conn, requests, mirror, orderIds, sync, marketData, orders });
  const orderPath = {
    pipeline: attached.pipeline,
    journalView: attached.journalView,
    ownClientIds: () => [config.clientId, conn.clientId],
  };
  // Assigned once the route table it describes is built; the openapi route reads it lazily.
  // eslint-disable-next-line prefer-const
  let openapi: unknown;
  const routes = withTimeout(
    // The order-safety routes go first: /order/events and /order/whatif must win over /order/:orderId.
    attached.guard([
      ...attached.routes,
      ...allRoutes({
        conn,
        requests,
        mirror,
        orderPath,
        contracts,
        marketData,
        historical,
        account,
        accountFeed,
        timeZone: config.ibTimeZone,
        proxyTokenRequired: config.proxyToken !== undefined,
        registries,
        feeds,
        openapi: () => openapi,
      }),
    ]),
    config.maxRequestTimeoutMs,
    config.requestTimeoutMs,
  );
  openapi = buildOpenApi(routes, { version: VERSION, clientId: config.clientId });
  const app = createApp({
    routes,
    clientId: config.clientId,
    log: log.child({ component: 'http' }),
    metrics,
    requestTimeoutMs: config.requestTimeoutMs,
    maxRequestTimeoutMs: config.maxRequestTimeoutMs,
    bodyLimitBytes: config.bodyLimitBytes,
    mirrorAgeSeconds: () => conn.mirrorAgeSeconds(),
    ...(config.proxyToken === undefined ? {} : { proxyToken: config.proxyToken }),
  });

  conn.start();
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  // Behind a keep-alive proxy the server must not close idle sockets before the proxy does.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address() as AddressInfo;
  const host = config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  const whenReady = (timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (conn.state === 'ready') return resolve();
      const timer = setTimeout(() => {
        conn.off('state', onState);
        reject(new Error(`IB connection not ready after ${timeoutMs} ms (state ${conn.state})`));
      }, timeoutMs);
      const onState = (s: string) => {
        if (s !== 'ready') return;
        clearTimeout(timer);
        conn.off('state', onState);
        resolve();
      };
      conn.on('state', onState);
    });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Open streams never finish by themselves: end them so the server can close.
      feedHub.close();
      accountFeed.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, config.shutdownTimeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await conn.stop();
      stopStorageReport();
      await safety.close();
      log.info('worker stopped');
    })());

  return {
    port: address.port,
    host,
    url,
    config,
    connection: conn,
    capabilities: conn.capabilities,
    mirror,
    orders,
    subscriptions,
    feeds: feedHub,
    safety,
    metrics,
    registries,
    routes,
    log,
    whenReady,
    close,
  };
}
