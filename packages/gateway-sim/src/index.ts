import type { Server } from 'node:http';
import { GatewayControl } from './control/control.js';
import { startControlServer } from './control/http.js';
import { GatewaySim } from './server.js';
import type { GatewaySimOptions } from './options.js';

export interface RunningGatewaySim {
  /** The bound TCP port of the TWS API listener. */
  port: number;
  host: string;
  /** The HTTP control port, when `controlPort` was given. */
  controlPort?: number;
  control: GatewayControl;
  /** The simulator itself (engine, limits), for advanced tests. */
  sim: GatewaySim;
  close(): Promise<void>;
}

/** Starts a simulated IB Gateway and resolves once it listens. */
export async function startGatewaySim(options: GatewaySimOptions = {}): Promise<RunningGatewaySim> {
  const sim = new GatewaySim(options);
  const port = await sim.listen();
  const control = new GatewayControl(sim);
  let http: Server | undefined;
  if (sim.opts.controlPort !== undefined) {
    try {
      http = await startControlServer(control, sim.opts.controlPort, '127.0.0.1');
    } catch (err) {
      await sim.close();
      throw err;
    }
  }
  const addr = http?.address();
  return {
    port,
    host: sim.opts.host,
    controlPort: typeof addr === 'object' && addr ? addr.port : undefined,
    control,
    sim,
    async close() {
      if (http) await new Promise<void>((r) => http.close(() => r()));
      await sim.close();
    },
  };
}

export { GatewaySim } from './server.js';
export { FARM_CODES, FARM_INACTIVE, type ReceivedMessage, type FarmState } from './server.js';
export { SESSION_PROFILES, type SessionProfile, type SessionOption, type FarmSeed } from './session-profile.js';
export {
  GatewayControl,
  NOTICE_TEXT,
  type OrderView,
  type ReceivedFilter,
  type WhatIfView,
} from './control/control.js';
export type { WhatIfFigures } from './engine/what-if.js';
export { resolveOptions, GatewaySimConfigError, type GatewaySimOptions } from './options.js';
export { ManualClock, systemClock, type Clock } from './engine/clock.js';
export type { AccountSeed, PositionSeed } from './engine/accounts.js';
export { seedAccounts, FX_RATES } from './engine/accounts.js';
export { ORDER_TEXT, type FillSpec, type OrderQuirks, type RejectSpec } from './engine/matching-engine.js';
export type { OrderStreamQuirks } from './control/order-stream.js';
export type { Violation } from './limits/violations.js';
export { SUBSCRIPTION_KINDS, DATA_LOST_KINDS, type SubscriptionKind } from './subscriptions.js';
export type { Bulletin } from './engine/feed-state.js';
export { DEPTH_EXCHANGES, type DepthExchange } from './engine/depth.js';
export { NEWS_PROVIDERS } from './engine/news.js';
export { SCAN_TYPES, LOCATIONS as SCANNER_LOCATIONS } from './engine/scanner.js';
export { REPORT_TYPES } from './engine/fundamentals.js';
export { FA_DATA_TYPE } from './engine/fa-config.js';
export type { RateMode } from './limits/msg-rate.js';
export { IB_PACING, type PacingLimits } from './limits/historical-pacing.js';
export { SIM_DEFAULT_VERSION, SIM_MAX_SUPPORTED, SIM_MIN_VERSION, MIN_SERVER_VER } from './wire/server-versions.js';
