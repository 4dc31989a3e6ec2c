import {
  ConfigError,
  envEnum,
  envInt,
  envOptionalString,
  envString,
  LOG_LEVELS,
  type Env,
  type LogLevel,
} from '@ibrest/common';

/** `npm start` settings. With no IB_HOST/IB_PORT the embedded simulator is started on SIM_PORT. */
export interface StackConfig {
  host: string;
  /** Real gateway address, or undefined to run the simulator. */
  gateway: { host: string; port: number } | undefined;
  simPort: number;
  simServerVersion: number;
  workers: number;
  workerBasePort: number;
  proxyPort: number;
  /** IB message budget per connection (per-client mode) or for all connections together (combined mode). */
  msgRate: number;
  rateMode: 'per-client' | 'combined';
  logLevel: LogLevel;
  logDir: string;
  dataDir: string;
}

export function loadStackConfig(env: Env): StackConfig {
  const ibHost = envOptionalString(env, 'IB_HOST');
  const ibPortRaw = envOptionalString(env, 'IB_PORT');
  const useGateway = ibHost !== undefined || ibPortRaw !== undefined;
  const workers = envInt(env, 'WORKERS_COUNT', 8, { min: 1, max: 8 });
  const msgRate = envInt(env, 'IB_MSG_RATE', 40, { min: 1, max: 50 });
  const rateMode = envEnum(env, 'IB_RATE_MODE', ['per-client', 'combined'] as const, 'per-client');
  if (rateMode === 'combined' && msgRate < workers) {
    throw new ConfigError(
      `Expected IB_MSG_RATE to be at least WORKERS_COUNT (${workers}) in combined mode, got ${msgRate}`,
    );
  }
  return {
    host: envString(env, 'HOST', '127.0.0.1'),
    gateway: useGateway
      ? { host: ibHost ?? '127.0.0.1', port: envInt(env, 'IB_PORT', 4002, { min: 1, max: 65535 }) }
      : undefined,
    simPort: envInt(env, 'SIM_PORT', 4002, { min: 0, max: 65535 }),
    simServerVersion: envInt(env, 'SIM_SERVER_VERSION', 176, { min: 164, max: 193 }),
    workers,
    workerBasePort: envInt(env, 'WORKER_BASE_PORT', 5000, { min: 0, max: 65527 }),
    proxyPort: envInt(env, 'PORT', 8080, { min: 0, max: 65535 }),
    msgRate,
    rateMode,
    logLevel: envEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logDir: envString(env, 'LOG_DIR', '.data/logs'),
    dataDir: envString(env, 'DATA_DIR', '.data'),
  };
}

/** Each worker's own IB_MSG_RATE: the whole budget per connection, or an equal share in combined mode. */
export function workerMsgRate(config: StackConfig): number {
  return config.rateMode === 'combined' ? Math.floor(config.msgRate / config.workers) : config.msgRate;
}

/**
 * V8 heap bounds for the proxy (same as proxy.Dockerfile). Its live heap stays near 12 MB, but V8's defaults
 * (16 MB semi-spaces, an old-space limit sized from the machine's RAM) let RSS reach ≈ 115 MB under load
 * before collecting. 4 MB semi-spaces and a 128 MB old space (still ten times the live heap) keep the peak
 * under 100 MB, for ≈ 10 % more CPU per request at saturation (bench/README.md, "Fixes").
 */
export const PROXY_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=128';
