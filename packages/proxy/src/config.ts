import {
  ConfigError,
  envBool,
  envEnum,
  envInt,
  envSecret,
  envString,
  LOG_LEVELS,
  type Env,
  type LogLevel,
} from '@ibrest/common';
import { loadMaintenanceWindows, type MaintenanceWindow } from '@ibrest/order-safety';
import { parseApiKeys, type ApiKeyRecord } from './security/api-keys.js';

export interface WorkerTarget {
  clientId: number;
  url: URL;
}

/** Everything `startProxy` needs; `loadConfig` builds it from the environment, tests build it directly. */
export interface ProxyConfig {
  /** @default '127.0.0.1' */
  host: string;
  /** @default 8080 (0 = any free port) */
  port: number;
  /** clientId → URL. The clientId-0 worker receives every order operation. */
  workers: WorkerTarget[];
  /** Allows a non-loopback listener without API keys (and without TLS when self-signing is off). */
  insecure: boolean;
  tls: {
    /** PEM text (from `TLS_CERT`/`TLS_CERT_FILE`). */
    cert?: string;
    key?: string;
    /** Generate a self-signed certificate when listening beyond loopback without one. @default true */
    selfSigned: boolean;
  };
  /** Where the self-signed certificate is kept between starts. @default '.data/proxy' */
  dataDir: string;
  apiKeys: ApiKeyRecord[];
  /** CIDRs (IPv4/IPv6); undefined = every address. */
  ipAllowlist?: string[];
  /** `key`: /metrics needs a key with the `read` scope. @default 'key' when keys are configured, else 'none' */
  metricsAuth: 'none' | 'key';
  health: {
    /** Probe interval while a worker is up. @default 2000 */
    intervalMs: number;
    /** Probe interval while a worker is down: it comes back only through a probe, so look more often. @default 500 */
    downIntervalMs: number;
    /** @default 1000 */
    timeoutMs: number;
  };
  upstream: {
    /** Longest silence from a worker before 504; above the worker's 60 s request cap. @default 65000 */
    timeoutMs: number;
    /** @default 2000 */
    connectTimeoutMs: number;
    /** Keep-alive sockets per worker for request/response traffic (not orders, not streams). @default 64 */
    maxSockets: number;
    /** Connections per worker for order operations (`target: order`), a fresh one per request. @default 32 */
    orderSockets: number;
    /** Connections per worker for long-lived streams; never shared with the two pools above. @default 4096 */
    streamSockets: number;
    /** Longest wait for a free upstream connection before 503 UPSTREAM_BUSY + Retry-After. @default 5000 */
    queueTimeoutMs: number;
    /** Idle pooled sockets are retired before the worker's 5 s keepAliveTimeout can race them. @default 4000 */
    freeSocketTimeoutMs: number;
  };
  client: {
    /** Time allowed to receive a whole request (headers and body). @default 30000 */
    requestTimeoutMs: number;
    /** @default 5000 */
    keepAliveTimeoutMs: number;
    /** Request bodies are buffered (so a refused connection can be retried) up to this size. @default 1048576 */
    maxBodyBytes: number;
    /** A body must arrive within this time once the headers are in (408 BODY_TIMEOUT). @default 10000 */
    bodyTimeoutMs: number;
    /** Request-body bytes held at once over all connections (503 BODY_BUDGET_EXHAUSTED beyond). @default 33554432 */
    maxBodyBytesInFlight: number;
  };
  streams: {
    /** Open streams per API key (per client address without keys); 429 STREAM_LIMIT beyond. @default 500 */
    perKey: number;
    /** Open streams in total; 503 STREAMS_EXHAUSTED beyond. @default 4000 */
    total: number;
  };
  /** Shared secret sent to workers in `x-ibrest-proxy-token` (IBREST_INTERNAL_TOKEN[_FILE]). Never logged. */
  internalToken?: string;
  historicalPacing: {
    /** @default true */
    enabled: boolean;
    /** A request that fits the budget within this wait is delayed; later than that → 429. @default 2500 */
    maxWaitMs: number;
  };
  budgets: {
    /** Pool-wide market-data lines (IB's default allowance is 100). @default 100 */
    marketDataLines: number;
    /** Pool-wide market-depth books (IB's default allowance is 3). @default 3 */
    depthBooks: number;
    /** `Retry-After` of a budget refusal: lines free up only when some stream closes. @default 5 */
    retryAfterSeconds: number;
  };
  /**
   * IB maintenance windows (`IB_MAINTENANCE_WINDOWS`, format of @ibrest/order-safety). `loadConfig` defaults
   * to IB's North American resets like every other process; `configWithDefaults` to none.
   */
  maintenanceWindows: MaintenanceWindow[];
  passiveHealth: {
    /** Consecutive bad answers (502, 503 without Retry-After, resets) that take a worker out; 0 = off. @default 5 */
    burstThreshold: number;
    /** The bad answers must fall within this time. @default 10000 */
    burstWindowMs: number;
  };
  /** @default 10000 */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

const DEFAULT_WORKERS = Array.from({ length: 8 }, (_, i) => `${i}=http://127.0.0.1:${5000 + i}`).join(',');

/** `0=http://127.0.0.1:5000,1=http://127.0.0.1:5001` → sorted targets; clientId 0 is required. */
export function parseWorkers(raw: string): WorkerTarget[] {
  const seen = new Map<number, WorkerTarget>();
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const m = /^(\d+)=(.+)$/.exec(part);
    if (m === null) throw new ConfigError(`Expected WORKERS entry as clientId=URL, got ${JSON.stringify(part)}`);
    const clientId = Number(m[1]);
    if (clientId > 31) throw new ConfigError(`Expected WORKERS clientId from 0 to 31, got ${clientId}`);
    let url: URL;
    try {
      url = new URL(m[2]!);
    } catch {
      throw new ConfigError(
        `Expected WORKERS URL for clientId ${clientId} to be an http(s) URL, got ${JSON.stringify(m[2])}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(
        `Expected WORKERS URL for clientId ${clientId} to be http: or https:, got ${JSON.stringify(url.protocol)}`,
      );
    }
    if (seen.has(clientId)) throw new ConfigError(`Expected each WORKERS clientId once, got ${clientId} twice`);
    seen.set(clientId, { clientId, url });
  }
  if (!seen.has(0)) {
    throw new ConfigError(
      `Expected WORKERS to include clientId 0 (it receives every order operation), got ${JSON.stringify(raw)}`,
    );
  }
  return [...seen.values()].sort((a, b) => a.clientId - b.clientId);
}

/** Reads and validates the environment (and `--insecure`) once, before anything listens. */
export function loadConfig(env: Env, argv: readonly string[] = []): ProxyConfig {
  const apiKeys = parseApiKeys(envSecret(env, 'API_KEYS'));
  const cert = envSecret(env, 'TLS_CERT');
  const key = envSecret(env, 'TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      'Expected both TLS_CERT and TLS_KEY (or their _FILE forms), ' +
        `got only ${cert === undefined ? 'TLS_KEY' : 'TLS_CERT'}`,
    );
  }
  const allow = envString(env, 'IP_ALLOWLIST', '');
  const health = {
    intervalMs: envInt(env, 'HEALTH_INTERVAL_MS', 2000, { min: 50, max: 600_000 }),
    downIntervalMs: envInt(env, 'HEALTH_DOWN_INTERVAL_MS', 500, { min: 50, max: 600_000 }),
    timeoutMs: envInt(env, 'HEALTH_TIMEOUT_MS', 1000, { min: 10, max: 60_000 }),
  };
  return {
    host: envString(env, 'HOST', '127.0.0.1'),
    port: envInt(env, 'PORT', 8080, { min: 0, max: 65535 }),
    workers: parseWorkers(envString(env, 'WORKERS', DEFAULT_WORKERS)),
    insecure: argv.includes('--insecure') || envBool(env, 'IBREST_INSECURE', false),
    tls: { cert, key, selfSigned: envBool(env, 'TLS_SELF_SIGNED', true) },
    dataDir: envString(env, 'DATA_DIR', '.data/proxy'),
    apiKeys,
    ...(allow === '' ? {} : { ipAllowlist: allow.split(/[,\s]+/).filter((s) => s !== '') }),
    metricsAuth: envEnum(env, 'METRICS_AUTH', ['none', 'key'] as const, apiKeys.length > 0 ? 'key' : 'none'),
    health,
    upstream: {
      timeoutMs: envInt(env, 'UPSTREAM_TIMEOUT_MS', 65_000, { min: 100, max: 3_600_000 }),
      connectTimeoutMs: envInt(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 2000, { min: 10, max: 60_000 }),
      maxSockets: envInt(env, 'UPSTREAM_MAX_SOCKETS', 64, { min: 1, max: 10_000 }),
      freeSocketTimeoutMs: envInt(env, 'UPSTREAM_FREE_SOCKET_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
      orderSockets: envInt(env, 'UPSTREAM_ORDER_SOCKETS', 32, { min: 1, max: 10_000 }),
      streamSockets: envInt(env, 'UPSTREAM_STREAM_SOCKETS', 4096, { min: 1, max: 100_000 }),
      queueTimeoutMs: envInt(env, 'UPSTREAM_QUEUE_TIMEOUT_MS', 5000, { min: 10, max: 600_000 }),
    },
    client: {
      requestTimeoutMs: envInt(env, 'CLIENT_REQUEST_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
      keepAliveTimeoutMs: envInt(env, 'CLIENT_KEEP_ALIVE_TIMEOUT_MS', 5000, { min: 100, max: 600_000 }),
      maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 1_048_576, { min: 0, max: 100 * 1_048_576 }),
      bodyTimeoutMs: envInt(env, 'CLIENT_BODY_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
      maxBodyBytesInFlight: envInt(env, 'MAX_BODY_BYTES_IN_FLIGHT', 32 * 1_048_576, { min: 0, max: 4096 * 1_048_576 }),
    },
    streams: {
      perKey: envInt(env, 'MAX_STREAMS_PER_KEY', 500, { min: 1, max: 1_000_000 }),
      total: envInt(env, 'MAX_STREAMS', 4000, { min: 1, max: 1_000_000 }),
    },
    ...internalToken(env),
    historicalPacing: {
      enabled: envBool(env, 'HISTORICAL_PACING', true),
      maxWaitMs: envInt(env, 'HISTORICAL_MAX_WAIT_MS', 2500, { min: 0, max: 60_000 }),
    },
    budgets: {
      marketDataLines: envInt(env, 'MARKET_DATA_LINES', 100, { min: 0, max: 100_000 }),
      depthBooks: envInt(env, 'DEPTH_BOOKS', 3, { min: 0, max: 10_000 }),
      retryAfterSeconds: envInt(env, 'BUDGET_RETRY_AFTER_SECONDS', 5, { min: 1, max: 3600 }),
    },
    maintenanceWindows: loadMaintenanceWindows(env),
    passiveHealth: {
      burstThreshold: envInt(env, 'PASSIVE_5XX_THRESHOLD', 5, { min: 0, max: 10_000 }),
      burstWindowMs: envInt(env, 'PASSIVE_5XX_WINDOW_MS', 10_000, { min: 100, max: 3_600_000 }),
    },
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, { min: 0, max: 600_000 }),
    logLevel: envEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

/** Defaults for programmatic use: `configWithDefaults({ workers, port: 0 })`. */
export function configWithDefaults(overrides: Partial<ProxyConfig> & Pick<ProxyConfig, 'workers'>): ProxyConfig {
  // No maintenance windows unless asked: programmatic users are mostly tests against the simulator.
  const base = loadConfig({ WORKERS: '0=http://127.0.0.1:5000', IB_MAINTENANCE_WINDOWS: 'none' });
  return {
    ...base,
    ...overrides,
    tls: { ...base.tls, ...overrides.tls },
    health: { ...base.health, ...overrides.health },
    upstream: { ...base.upstream, ...overrides.upstream },
    client: { ...base.client, ...overrides.client },
    streams: { ...base.streams, ...overrides.streams },
    historicalPacing: { ...base.historicalPacing, ...overrides.historicalPacing },
    budgets: { ...base.budgets, ...overrides.budgets },
    passiveHealth: { ...base.passiveHealth, ...overrides.passiveHealth },
    metricsAuth: overrides.metricsAuth ?? ((overrides.apiKeys?.length ?? 0) > 0 ? 'key' : 'none'),
  };
}

/** The token workers check; at least 16 characters so it cannot be guessed in a few tries. */
function internalToken(env: Env): { internalToken?: string } {
  const token = envSecret(env, 'IBREST_INTERNAL_TOKEN');
  if (token === undefined) return {};
  if (token.length < 16) {
    throw new ConfigError(`Expected IBREST_INTERNAL_TOKEN to have at least 16 characters, got ${token.length}`);
  }
  return { internalToken: token };
}
