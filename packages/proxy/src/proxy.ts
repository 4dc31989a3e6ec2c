import { createLogger, logListening, type Logger } from '@ibrest/common';
import { CAPABILITIES } from '@ibrest/contract';
import { createMaintenanceSchedule } from '@ibrest/order-safety';
import { MarketDataBudgets } from './budgets/market-data.js';
import type { ProxyConfig } from './config.js';
import { createChain } from './chain.js';
import { createDispatcher } from './dispatch.js';
import { createEntrypoint, listen, prepareTls } from './entrypoint.js';
import { createForwarder } from './forward.js';
import { BodyBudget } from './http/body.js';
import { UpstreamSlots } from './upstream-slots.js';
import { ActiveHealth } from './health/active.js';
import { BurstDetector } from './health/burst.js';
import { PassiveHealth } from './health/passive.js';
import { LeastOutstanding } from './balancer/least-outstanding.js';
import { Pool } from './balancer/pool.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { buildProxyOpenApi } from './openapi.js';
import { HistoricalPacer, OpenHistoricalRequests } from './pacing/historical.js';
import { createLocalRoutes } from './router/local.js';
import { parseAllowlist } from './security/allowlist.js';
import { ApiKeyStore } from './security/api-keys.js';

export interface RunningProxy {
  url: string;
  host: string;
  port: number;
  protocol: 'http' | 'https';
  /** SHA-256 fingerprint of the served certificate (HTTPS only). */
  fingerprint256?: string;
  /** PEM of the served certificate (HTTPS only), for clients that pin it. */
  certificate?: string;
  pool: Pool;
  metrics: ProxyMetrics;
  /** Pool-wide market-data lines and depth books held by open streams. */
  budgets: MarketDataBudgets;
  /** Stops accepting, lets in-flight requests finish up to `shutdownTimeoutMs`, then cuts the rest. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Wall clock (ms) for maintenance windows and the passive-health burst window. @default Date.now */
  clock?: () => number;
}

/** Builds the whole proxy from a validated config, waits for the first probe round, then listens. */
export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  // Each component gets its own child of the root: pino children of children would repeat `component`.
  const root = options.logger ?? createLogger('ibrest-proxy', config.logLevel);
  const log = root.child({ component: 'proxy' });
  const tls = await prepareTls(config, log);
  const metrics = createProxyMetrics();
  const pool = new Pool(config.workers, {
    onStatusChange: ({ worker, up }) => metrics.backendUp.set({ backend: worker.name }, up ? 1 : 0),
    onCapabilities: (w) => {
      for (const c of CAPABILITIES) {
        metrics.backendCapability.set({ backend: w.name, capability: c }, w.capabilities.has(c) ? 1 : 0);
      }
    },
    onInFlight: (w) => metrics.setInFlight(w.name, w.inFlight),
  });
  for (const w of pool.all()) {
    metrics.backendUp.set({ backend: w.name }, 0);
    metrics.inFlight.set({ backend: w.name }, 0);
  }
  const forwarder = createForwarder({
    maxSockets: config.upstream.maxSockets,
    orderSockets: config.upstream.orderSockets,
    streamSockets: config.upstream.streamSockets,
    freeSocketTimeoutMs: config.upstream.freeSocketTimeoutMs,
    upstreamTimeoutMs: config.upstream.timeoutMs,
    connectTimeoutMs: config.upstream.connectTimeoutMs,
  });
  const health = new ActiveHealth(
    pool,
    {
      ...config.health,
      ...(config.internalToken === undefined ? {} : { internalToken: config.internalToken }),
      onProbe: (w, r) => metrics.healthChecks.inc({ backend: w.name, result: r.up ? 'up' : 'down' }),
    },
    root.child({ component: 'health' }),
  );
  const clock = options.clock ?? Date.now;
  const retryAfterSeconds = Math.max(1, Math.ceil(config.health.downIntervalMs / 1000));
  const passive = new PassiveHealth(
    pool,
    new BurstDetector({
      threshold: config.passiveHealth.burstThreshold,
      windowMs: config.passiveHealth.burstWindowMs,
      clock,
    }),
    metrics,
    root.child({ component: 'health' }),
  );
  const budgets = new MarketDataBudgets(
    { lines: config.budgets.marketDataLines, depth: config.budgets.depthBooks },
    (kind, inUse) => (kind === 'lines' ? metrics.marketDataLinesInUse : metrics.depthBooksInUse).set(inUse),
  );
  metrics.marketDataLinesBudget.set(config.budgets.marketDataLines);
  metrics.depthBooksBudget.set(config.budgets.depthBooks);
  metrics.marketDataLinesInUse.set(0);
  metrics.depthBooksInUse.set(0);
  const schedule =
    config.maintenanceWindows.length > 0 ? createMaintenanceSchedule(config.maintenanceWindows, { clock }) : undefined;
  if (schedule !== undefined) metrics.maintenanceProbe = () => schedule.currentWindow().inWindow;
  const dispatch = createDispatcher({
    pool,
    balancer: new LeastOutstanding(),
    forwarder,
    passive,
    metrics,
    log: root.child({ component: 'dispatch' }),
    upstreamTimeoutMs: config.upstream.timeoutMs,
    retryAfterSeconds,
    slots: new UpstreamSlots(
      {
        requests: config.upstream.maxSockets,
        orders: config.upstream.orderSockets,
        streams: config.upstream.streamSockets,
      },
      config.upstream.queueTimeoutMs,
    ),
    ...(config.internalToken === undefined ? {} : { internalToken: config.internalToken }),
  });
  const openHistorical = new OpenHistoricalRequests();
  const handler = createChain({
    log: root.child({ component: 'access' }),
    metrics,
    allowlist: parseAllowlist(config.ipAllowlist?.join(',')),
    keys: config.apiKeys.length > 0 ? new ApiKeyStore(config.apiKeys) : undefined,
    metricsAuth: config.metricsAuth,
    pacer: config.historicalPacing.enabled ? { rules: new HistoricalPacer(), open: openHistorical } : undefined,
    historicalMaxWaitMs: config.historicalPacing.maxWaitMs,
    ...(schedule === undefined ? {} : { maintenance: schedule }),
    budgets,
    budgetRetryAfterSeconds: config.budgets.retryAfterSeconds,
    maxBodyBytes: config.client.maxBodyBytes,
    bodyTimeoutMs: config.client.bodyTimeoutMs,
    bodyBudget: new BodyBudget(config.client.maxBodyBytesInFlight, (used) => metrics.bodyBytesInFlight.set(used)),
    streams: config.streams,
    local: createLocalRoutes(
      pool,
      metrics,
      budgets,
      schedule,
      buildProxyOpenApi({ metricsAuth: config.metricsAuth }),
      config.historicalPacing.enabled ? openHistorical : undefined,
    ),
    dispatch,
  });
  const { server, protocol } = createEntrypoint(config, tls, handler);

  await health.start();
  let address;
  try {
    address = await listen(server, config.port, config.host);
  } catch (err) {
    health.stop();
    forwarder.close();
    throw err;
  }
  const displayHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${protocol}://${displayHost}:${address.port}`;
  logListening(log, {
    port: address.port,
    host: address.address,
    url,
    protocol,
    workers: pool.all().length,
    workersUp: pool.all().filter((w) => w.up).length,
    auth: config.apiKeys.length > 0 ? `${config.apiKeys.length} keys` : 'off',
    allowlist: config.ipAllowlist?.length ?? 0,
    maintenanceWindows: config.maintenanceWindows.map((w) => w.spec),
    budgets: config.budgets,
    ...(tls === undefined ? {} : { fingerprint256: tls.fingerprint256 }),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    host: address.address,
    port: address.port,
    protocol,
    ...(tls === undefined ? {} : { fingerprint256: tls.fingerprint256, certificate: tls.cert }),
    pool,
    metrics,
    budgets,
    close() {
      closing ??= new Promise<void>((resolve) => {
        health.stop();
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          forwarder.close();
          log.info('stopped');
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
