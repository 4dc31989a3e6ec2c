import {
  ConfigError,
  envBool,
  envEnum,
  envInt,
  envSecret,
  envString,
  isLoopback,
  LOG_LEVELS,
  type Env,
  type LogLevel,
} from '@ibrest/common';
import { loadFeedConfig, type FeedConfig } from './feeds/config.js';
import { isTimeZone } from './ib/ib-time.js';
import { loadOrderSafetyConfig, type OrderSafetyConfig } from '@ibrest/order-safety';

/** Everything a worker reads from its environment, validated once at start-up. */
export interface WorkerConfig {
  /** TWS / IB Gateway host. @default '127.0.0.1' */
  ibHost: string;
  /** TWS / IB Gateway API port. @default 4002 */
  ibPort: number;
  /** The fixed clientId of this worker's IB connection (never changed on reconnect). @default 0 */
  clientId: number;
  /** HTTP listen address. @default '127.0.0.1' */
  host: string;
  /** HTTP port; 0 picks a free one. @default 5000 + clientId */
  port: number;
  /** Outbound IB messages per second through the pacer. @default 40 */
  msgRate: number;
  /** Deadline of a request without `?timeout=`. @default 10000 */
  requestTimeoutMs: number;
  /** Largest deadline `?timeout=` may ask for. @default 60000 */
  maxRequestTimeoutMs: number;
  /** First reconnect delay after a lost connection; doubles per attempt. @default 500 */
  reconnectMinMs: number;
  /** Cap of the reconnect delay. @default 30000 */
  reconnectMaxMs: number;
  /** Socket open → nextValidId + managedAccounts must happen within this. @default 10000 */
  connectTimeoutMs: number;
  /** Longest wait for each end marker of the initial sync (positions, orders, executions, account). @default 10000 */
  syncTimeoutMs: number;
  /** IB_TIME_ZONE: the time zone TWS / the Gateway is set to (IB's time strings without a zone are in it). */
  ibTimeZone: string;
  /** PNL_POSITIONS_MAX: positions whose PnL (reqPnLSingle) the mirror keeps live. */
  pnlPositionsMax: number;
  /**
   * How long a finished historical/head-timestamp answer is served again (IB refuses identical requests within 15 s).
   * @default 15000
   */
  historicalCacheMs: number;
  /** Market-data lines this worker may hold at once (snapshots included). @default 100 */
  marketDataLines: number;
  /** Largest accepted request body in bytes. @default 65536 */
  bodyLimitBytes: number;
  /** Grace period for in-flight HTTP requests on SIGTERM/SIGINT. @default 5000 */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /**
   * The proxy's shared secret (`IBREST_INTERNAL_TOKEN` or `IBREST_INTERNAL_TOKEN_FILE`): when set, requests without
   * it in `x-ibrest-proxy-token` are refused with 401 (health and metrics excepted). Never logged. @default unset
   */
  proxyToken?: string;
  /** Streaming feeds (FEED_*, IB_MARKET_DEPTH_BOOKS). */
  feeds: FeedConfig;
  /** Spare clientIds (8–31) to fall back to after repeated 326; never used by clientId 0. @default [] */
  spareClientIds: number[];
  /** Consecutive 326 refusals before falling back to a spare (or reporting clientId 0 stuck). @default 3 */
  clientIdRefusalsBeforeFallback: number;
  /** Journal, idempotency store, audit log, policy and maintenance windows (`dataDir` from DATA_DIR). */
  orderSafety: OrderSafetyConfig;
}

export function loadConfig(env: Env = process.env): WorkerConfig {
  const clientId = envInt(env, 'IB_CLIENT_ID', 0, { min: 0, max: 31 });
  const requestTimeoutMs = envInt(env, 'REQUEST_TIMEOUT_MS', 10_000, { min: 10, max: 600_000 });
  const maxRequestTimeoutMs = envInt(env, 'MAX_REQUEST_TIMEOUT_MS', 60_000, { min: 10, max: 600_000 });
  if (maxRequestTimeoutMs < requestTimeoutMs) {
    throw new ConfigError(
      `Expected MAX_REQUEST_TIMEOUT_MS to be at least REQUEST_TIMEOUT_MS (${requestTimeoutMs}), ` +
        `got ${maxRequestTimeoutMs}`,
    );
  }
  const reconnectMinMs = envInt(env, 'IB_RECONNECT_MIN_MS', 500, { min: 10, max: 600_000 });
  const reconnectMaxMs = envInt(env, 'IB_RECONNECT_MAX_MS', 30_000, { min: 10, max: 3_600_000 });
  if (reconnectMaxMs < reconnectMinMs) {
    throw new ConfigError(
      `Expected IB_RECONNECT_MAX_MS to be at least IB_RECONNECT_MIN_MS (${reconnectMinMs}), got ${reconnectMaxMs}`,
    );
  }
  return {
    ibHost: ibHost(env),
    ibPort: envInt(env, 'IB_PORT', 4002, { min: 1, max: 65535 }),
    clientId,
    host: listenHost(env),
    port: envInt(env, 'PORT', 5000 + clientId, { min: 0, max: 65535 }),
    // IB's hard limit is 50 messages/s; staying below it leaves room for the library's own limiter rounding.
    msgRate: envInt(env, 'IB_MSG_RATE', 40, { min: 1, max: 50 }),
    requestTimeoutMs,
    maxRequestTimeoutMs,
    reconnectMinMs,
    reconnectMaxMs,
    connectTimeoutMs: envInt(env, 'IB_CONNECT_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    syncTimeoutMs: envInt(env, 'IB_SYNC_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    pnlPositionsMax: envInt(env, 'PNL_POSITIONS_MAX', 100, { min: 0, max: 10_000 }),
    ibTimeZone: timeZoneFrom(env),
    historicalCacheMs: envInt(env, 'HISTORICAL_CACHE_MS', 15_000, { min: 0, max: 3_600_000 }),
    marketDataLines: envInt(env, 'IB_MARKET_DATA_LINES', 100, { min: 1, max: 10_000 }),
    bodyLimitBytes: envInt(env, 'BODY_LIMIT_BYTES', 65_536, { min: 1024, max: 10_485_760 }),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 5_000, { min: 0, max: 600_000 }),
    logLevel: envEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    ...optionalToken(env),
    feeds: loadFeedConfig(env),
    spareClientIds: parseSpareClientIds(env.IB_SPARE_CLIENT_IDS, clientId),
    clientIdRefusalsBeforeFallback: envInt(env, 'IB_CLIENT_ID_FALLBACK_AFTER', 3, { min: 1, max: 1000 }),
    orderSafety: {
      ...loadOrderSafetyConfig(env),
      // DATA_DIR is what the stack passes; ORDER_DATA_DIR (the library's name) is honoured too.
      dataDir: envString(env, 'DATA_DIR', envString(env, 'ORDER_DATA_DIR', `.data/worker${clientId}`)),
    },
  };
}

/** `IB_SPARE_CLIENT_IDS=8,9`: distinct integers 8–31, none equal to the configured clientId. */
function parseSpareClientIds(raw: string | undefined, clientId: number): number[] {
  if (raw === undefined || raw.trim() === '') return [];
  const ids = raw.split(',').map((p) => p.trim());
  const out: number[] = [];
  for (const p of ids) {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 8 || n > 31 || n === clientId || out.includes(n)) {
      throw new ConfigError(
        'Expected IB_SPARE_CLIENT_IDS to be a comma-separated list of distinct clientIds ' +
          `from 8 to 31 other than ${clientId}, got ${JSON.stringify(raw)}`,
      );
    }
    out.push(n);
  }
  return out;
}

/** One host, or comma-separated candidates of which each attempt uses the first that resolves. */
function ibHost(env: Env): string {
  const value = envString(env, 'IB_HOST', '127.0.0.1');
  const hosts = value.split(',').map((h) => h.trim());
  if (hosts.some((h) => h === '' || /\s/.test(h))) {
    throw new ConfigError(
      `Expected IB_HOST to be a host name or a comma-separated list of them, got ${JSON.stringify(value)}`,
    );
  }
  return hosts.join(',');
}

/**
 * A worker has no TLS and no API keys: the proxy is the entry point. It listens beyond loopback only when told
 * so explicitly (a private container network behind the proxy), never by accident.
 */
function listenHost(env: Env): string {
  const host = envString(env, 'HOST', '127.0.0.1');
  if (!isLoopback(host) && !envBool(env, 'IBREST_INSECURE', false)) {
    throw new ConfigError(
      'Expected HOST to be a loopback address (a worker has no TLS or API keys; the proxy is the entry point), ' +
        `got ${JSON.stringify(host)}. ` +
        'Set IBREST_INSECURE=true to listen on a private network behind the proxy anyway',
    );
  }
  return host;
}

function timeZoneFrom(env: Env): string {
  const zone = env.IB_TIME_ZONE?.trim() || 'UTC';
  if (!isTimeZone(zone)) {
    const got = JSON.stringify(zone);
    throw new ConfigError(`Expected IB_TIME_ZONE to be an IANA time zone (e.g. America/New_York), got ${got}`);
  }
  return zone;
}

/** The proxy token, from the environment or a secret file; absent when neither is set. */
function optionalToken(env: Env): { proxyToken?: string } {
  const token = envSecret(env, 'IBREST_INTERNAL_TOKEN');
  if (token === undefined) return {};
  if (token.length < 16) {
    throw new ConfigError(`Expected IBREST_INTERNAL_TOKEN to have at least 16 characters, got ${token.length}`);
  }
  return { proxyToken: token };
}
