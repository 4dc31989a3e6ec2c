import { envBool, envNumber, envString, type Env } from '@ibrest/common';
import { loadMaintenanceWindows, type MaintenanceWindow } from './maintenance-windows.js';
import { loadOrderPolicyConfig, type OrderPolicyConfig } from './policy-config.js';

export interface OrderSafetyConfig {
  /** Directory for the journal, the idempotency store and the audit log (one volume in compose). */
  dataDir: string;
  fsync: boolean;
  idempotencyTtlMs: number;
  policy: OrderPolicyConfig;
  maintenanceWindows: MaintenanceWindow[];
}

const HOUR_MS = 3_600_000;

/**
 * Every environment variable this package reads, validated at once with "expected X, got Y" errors so the
 * process fails before it listens. The list and defaults are in the package README.
 */
export function loadOrderSafetyConfig(env: Env = process.env): OrderSafetyConfig {
  return {
    dataDir: envString(env, 'ORDER_DATA_DIR', 'data'),
    fsync: envBool(env, 'ORDER_DATA_FSYNC', true),
    // Retries after a day-long outage must still be recognised, hence the 24 h floor.
    idempotencyTtlMs: envNumber(env, 'IDEMPOTENCY_TTL_HOURS', 24, { min: 24, max: 24 * 90 }) * HOUR_MS,
    policy: loadOrderPolicyConfig(env),
    maintenanceWindows: loadMaintenanceWindows(env),
  };
}
