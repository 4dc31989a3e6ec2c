import type { Logger } from '@ibrest/common';
import type { AccountSeed } from './engine/accounts.js';
import type { Clock } from './engine/clock.js';
import type { PacingLimits } from './limits/historical-pacing.js';
import type { RateMode } from './limits/msg-rate.js';
import { resolveSession, type SessionOption } from './session-profile.js';
import { SIM_DEFAULT_VERSION, SIM_MAX_SUPPORTED, SIM_MIN_VERSION } from './wire/server-versions.js';

export interface GatewaySimOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Highest server version offered (164–193); each client gets min(its max, this). @default 176 */
  serverVersion?: number;
  /** Seed of prices, bars and ids. @default 1 */
  seed?: number;
  /** Time source (tests inject a ManualClock). @default system clock */
  clock?: Clock;
  /** Accounts with cash and starting positions. @default DU1234567 with 100,000 USD and 100 AAPL @ 150 */
  accounts?: AccountSeed[];
  /** Inbound messages per second before error 100. @default 50 */
  msgRate?: number;
  /** Count the rate per connection or across all connections. @default 'per-client' */
  rateMode?: RateMode;
  /** Market-data lines of the account before error 101. @default 100 */
  marketDataLines?: number;
  /** Market-depth books of the account before error 309 (IB's default allowance is 3). @default 3 */
  depthBooks?: number;
  /** Milliseconds between REAL_TIME_BARS sends; each bar is still stamped 5 s after the previous one. @default 5000 */
  realTimeBarMs?: number;
  /**
   * Milliseconds between SCANNER_DATA refreshes of live scanner subscriptions (0 = only on `refreshScanners`). @default
   * 30000
   */
  scannerRefreshMs?: number;
  /**
   * Serve a financial-advisor (FA) login: MANAGED_ACCTS lists the master account first, then the accounts
   * (the sub-accounts); requestFA / replaceFA work. `true` uses master `DF1234567`. @default false
   */
  faAccount?: boolean | { master: string };
  /** Connected API clients at most (TWS allows 32). @default 32 */
  maxClients?: number;
  /** Historical pacing rules (IB's by default). */
  pacing?: Partial<PacingLimits>;
  /** Largest inbound frame; larger ones close the connection. @default 16777215 */
  maxFrameBytes?: number;
  /** Milliseconds between price steps of instruments someone watches; 0 stops the walk. @default 1000 */
  tickIntervalMs?: number;
  /** Write every outgoing message in random chunks of 1…maxChunk bytes (fragmented delivery). @default off */
  fragment?: { maxChunk: number } | false;
  /**
   * TWS's "Master API client ID": the client that receives every client's order statuses, executions and
   * commission reports, and whose reqOpenOrders / reqExecutions cover all clients. @default 0
   */
  masterClientId?: number;
  /**
   * Directory where order ids, permIds and execution ids are kept across restarts of the simulator (IB keeps
   * its id sequence across gateway restarts). Created if missing. @default off (a fresh sequence each start)
   */
  stateDir?: string;
  /**
   * The session's noise: `'clean'` (none), `'realistic'` (inactive farms at start, farm flaps, link blips,
   * duplicate statuses, fills without Filled) or a `SessionProfile`. @default 'clean'
   */
  session?: SessionOption;
  /** Also serve the control API over HTTP on this loopback port (0 = any). @default off */
  controlPort?: number;
  /** pino logger; default: a silent one. */
  logger?: Logger;
}

type OptionalOpts = 'clock' | 'accounts' | 'controlPort' | 'logger' | 'pacing' | 'fragment' | 'stateDir' | 'session';
export type ResolvedOptions = Required<Omit<GatewaySimOptions, OptionalOpts | 'faAccount'>> &
  Pick<GatewaySimOptions, OptionalOpts> & {
    /** The FA master account id, when `faAccount` is set. */
    faMaster: string | undefined;
  };

/** Sub-accounts of the default FA login (the default single account plus a second one). */
export const DEFAULT_FA_ACCOUNTS = [
  { id: 'DU1234567', cash: 100_000, positions: [{ symbol: 'AAPL', quantity: 100, avgPrice: 150 }] },
  {
    id: 'DU1234568',
    cash: 50_000,
    fxCash: { EUR: 20_000 },
    positions: [{ symbol: 'MSFT', quantity: 20, avgPrice: 380 }],
  },
];

export class GatewaySimConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewaySimConfigError';
  }
}

function intIn(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new GatewaySimConfigError(
      `Expected ${name} to be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Applies defaults and validates, failing before anything listens. */
export function resolveOptions(o: GatewaySimOptions = {}): ResolvedOptions {
  const r: ResolvedOptions = {
    port: intIn('port', o.port ?? 0, 0, 65535),
    host: o.host ?? '127.0.0.1',
    serverVersion: intIn('serverVersion', o.serverVersion ?? SIM_DEFAULT_VERSION, SIM_MIN_VERSION, SIM_MAX_SUPPORTED),
    seed: intIn('seed', o.seed ?? 1, -(2 ** 31), 2 ** 31 - 1),
    msgRate: intIn('msgRate', o.msgRate ?? 50, 1, 1_000_000),
    rateMode: o.rateMode ?? 'per-client',
    marketDataLines: intIn('marketDataLines', o.marketDataLines ?? 100, 0, 1_000_000),
    maxClients: intIn('maxClients', o.maxClients ?? 32, 1, 1000),
    depthBooks: intIn('depthBooks', o.depthBooks ?? 3, 0, 1000),
    realTimeBarMs: intIn('realTimeBarMs', o.realTimeBarMs ?? 5000, 10, 3_600_000),
    scannerRefreshMs: intIn('scannerRefreshMs', o.scannerRefreshMs ?? 30_000, 0, 3_600_000),
    faMaster: o.faAccount === true ? 'DF1234567' : o.faAccount ? o.faAccount.master : undefined,
    maxFrameBytes: intIn('maxFrameBytes', o.maxFrameBytes ?? 0xffffff, 16, 0x7fffffff),
    tickIntervalMs: intIn('tickIntervalMs', o.tickIntervalMs ?? 1000, 0, 3_600_000),
    masterClientId: intIn('masterClientId', o.masterClientId ?? 0, -(2 ** 31), 2 ** 31 - 1),
    stateDir: o.stateDir || undefined,
    session: o.session,
    clock: o.clock,
    accounts: o.accounts ?? (o.faAccount ? DEFAULT_FA_ACCOUNTS : undefined),
    controlPort: o.controlPort === undefined ? undefined : intIn('controlPort', o.controlPort, 0, 65535),
    logger: o.logger,
    pacing: o.pacing,
    fragment: o.fragment,
  };
  try {
    resolveSession(r.session);
  } catch (err) {
    throw new GatewaySimConfigError((err as Error).message);
  }
  if (r.rateMode !== 'per-client' && r.rateMode !== 'combined') {
    throw new GatewaySimConfigError(
      `Expected rateMode to be per-client or combined, got ${JSON.stringify(r.rateMode)}`,
    );
  }
  if (r.faMaster !== undefined && !/^[A-Z0-9]{2,32}$/i.test(r.faMaster)) {
    throw new GatewaySimConfigError(`Expected faAccount.master to be an account id, got ${JSON.stringify(r.faMaster)}`);
  }
  if (r.fragment && !(Number.isInteger(r.fragment.maxChunk) && r.fragment.maxChunk >= 1)) {
    throw new GatewaySimConfigError(
      `Expected fragment.maxChunk to be an integer ≥ 1, got ${JSON.stringify(r.fragment.maxChunk)}`,
    );
  }
  return r;
}
