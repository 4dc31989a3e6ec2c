import { EventEmitter } from 'node:events';
import { IBApi, EventName } from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import type { WorkerMetrics } from '../metrics.js';
import { firstResolvable, parseHostCandidates } from './host-candidates.js';
import type { ClientIdLease } from './client-id-lease.js';
import { classifyIbCode, FARM_NOTICES, farmName } from './error-codes.js';
import { CapabilityTracker } from './capabilities.js';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'ready' | 'degraded';

const STATE_VALUE: Record<ConnectionState, number> = {
  disconnected: 0,
  connecting: 1,
  connected: 2,
  ready: 3,
  degraded: 4,
};

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: number;
  /** @stoqey/ib's own limiter (messages/s); set well above the pacer's rate so it never delays a counted message. */
  libraryRate: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  log: Logger;
  metrics?: WorkerMetrics;
  /** Decides the clientId of each attempt (spare after repeated 326); without it `clientId` is used. */
  lease?: ClientIdLease;
}

/** One established IB session: a socket that received nextValidId and managedAccounts. */
export interface IbSession {
  /** Increments per connection; requests created in one session never go out in the next. */
  id: number;
  api: IBApi;
  serverVersion: number;
  accounts: string[];
  nextValidId: number;
}

export interface RequestErrorEvent {
  reqId: number;
  code: number;
  message: string;
  advancedOrderReject?: unknown;
}

type FarmStatus = 'ok' | 'down' | 'inactive';
type FarmCapability = 'marketData' | 'historical' | 'secDef';
type Listener = (...args: any[]) => void;

/**
 * Owns the IBApi instance and the connection state machine:
 * disconnected → connecting → connected (socket + server version) → ready (nextValidId, managedAccounts,
 * session hooks such as the initial sync done); ready ⇄ degraded on 1100 / farm-down and back on
 * 1101/1102. A lost socket reconnects with capped exponential backoff and the SAME clientId.
 *
 * Each attempt gets a fresh IBApi: @stoqey/ib buffers commands while disconnected and would replay them
 * into the next session, which must never happen for orders.
 *
 * Events: 'state' (ConnectionState), 'session' (IbSession, once ready), 'sessionEnd' (IbSession),
 * 'dataLost' (1101: resubscribe everything), 'requestError' (RequestErrorEvent for an id ≥ 0).
 */
export class IbConnection extends EventEmitter {
  private api: IBApi | undefined;
  private pending: Partial<IbSession> & { id: number } = { id: 0 };
  private current: IbSession | undefined;
  private sessionCounter = 0;
  private stopping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private nextAttemptAt = 0;
  private socketUp = false;
  private synced = false;
  private linkUp = true;
  /** farm name (`usfarm`) → the capability it serves and its last notice. */
  private readonly farms = new Map<string, { capability: FarmCapability; status: FarmStatus; code: number }>();
  /** What this worker can serve now, derived from the state below on every change. */
  readonly capabilities = new CapabilityTracker();
  /** The initial sync completed at least once in this process: the mirror has something to serve. */
  private everSynced = false;
  private lastAccounts: string[] = [];
  /** When the mirror stopped being live (link or socket lost); undefined while it is live. */
  private mirrorFrozenAt: number | undefined;
  private readonly hooks: ((s: IbSession) => Promise<void>)[] = [];
  /** (event, listener) pairs attached to every IBApi this connection creates. */
  private readonly apiListeners: [string, Listener][] = [];
  private lastError: { code: number; message: string; at: string } | undefined;
  private clientIdInUseSince: string | undefined;
  private reconnects = 0;
  private readySince: string | undefined;
  private _state: ConnectionState = 'disconnected';

  constructor(private readonly options: ConnectionOptions) {
    super();
    // Every pending request and order wait listens for 'sessionEnd': hundreds at once are normal.
    this.setMaxListeners(0);
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The clientId of the current (or next) attempt: the configured one unless the lease moved to a spare. */
  get clientId(): number {
    return this.options.lease?.current ?? this.options.clientId;
  }

  get session(): IbSession | undefined {
    return this.current;
  }

  /** Requests may be sent: the session is synced and TWS has its link to IB. */
  get serving(): boolean {
    return this.current !== undefined && this.synced && this.linkUp;
  }

  /** Seconds a caller should wait before the connection could serve again. */
  retryAfterSeconds(): number {
    const untilAttempt = Math.max(0, this.nextAttemptAt - Date.now());
    return Math.max(1, Math.ceil((untilAttempt + 1000) / 1000));
  }

  /** Runs on every new session before it counts as ready (the initial sync). */
  onSession(hook: (s: IbSession) => Promise<void>): void {
    this.hooks.push(hook);
  }

  /** Subscribes to an IBApi event on the current and every future IBApi instance. */
  listen(event: EventName | string, listener: Listener): void {
    this.apiListeners.push([event, listener]);
    (this.api as unknown as EventEmitter | undefined)?.on(event, listener);
  }

  start(): void {
    this.stopping = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    const api = this.api;
    if (api !== undefined) {
      const closed = new Promise<void>((resolve) => {
        api.once(EventName.disconnected, () => resolve());
        setTimeout(resolve, 1000).unref();
      });
      api.disconnect();
      await closed;
    }
    this.teardown();
  }

  health() {
    return {
      state: this._state,
      clientId: this.clientId,
      socket: this.socketUp,
      ibServerLink: this.linkUp,
      serverVersion: this.current?.serverVersion,
      accounts: this.current?.accounts ?? [],
      synced: this.synced,
      clientIdInUse: this.clientIdInUseSince !== undefined,
      clientIdInUseSince: this.clientIdInUseSince,
      reconnects: this.reconnects,
      readySince: this.readySince,
      lastError: this.lastError,
      farms: Object.fromEntries([...this.farms].map(([name, f]) => [name, f.status])),
      ...(this.options.lease === undefined ? {} : { lease: this.options.lease.health() }),
    };
  }

  private connect(): void {
    if (this.stopping) return;
    const hosts = parseHostCandidates(this.options.host);
    if (hosts.length <= 1) return this.connectTo(this.options.host);
    void firstResolvable(hosts).then((host) => {
      if (!this.stopping) this.connectTo(host);
    });
  }

  private connectTo(host: string): void {
    const { log } = this.options;
    this.pending = { id: ++this.sessionCounter };
    const api = new IBApi({ host, port: this.options.port, maxReqPerSec: this.options.libraryRate });
    this.api = api;
    for (const [event, listener] of this.apiListeners) (api as unknown as EventEmitter).on(event, listener);
    api.on(EventName.connected, () => {
      this.socketUp = true;
      this.update();
    });
    api.on(EventName.server, (serverVersion: number) => {
      this.pending.serverVersion = serverVersion;
      log.info({ serverVersion }, 'IB socket connected');
    });
    api.on(EventName.managedAccounts, (list: string) => {
      this.pending.accounts = list
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '');
      this.maybeSession(api);
    });
    api.on(EventName.nextValidId, (id: number) => {
      if (this.pending.nextValidId === undefined) {
        this.pending.nextValidId = id;
        this.maybeSession(api);
      }
    });
    api.on(EventName.info, (message: string, code: number) => this.onNotice(code, message, -1));
    api.on(EventName.error, (error: Error, code: number, reqId: number, advancedOrderReject?: unknown) =>
      this.onNotice(code, error?.message ?? String(error), reqId, advancedOrderReject),
    );
    api.on(EventName.disconnected, () => {
      if (this.api === api) this.onDisconnected();
    });
    this.setState('connecting');
    log.info({ host, port: this.options.port, attempt: this.attempt }, 'connecting to IB');
    this.connectTimer = setTimeout(() => {
      if (this.api === api && this.current === undefined) {
        log.warn({ timeoutMs: this.options.connectTimeoutMs }, 'IB session not established in time; reconnecting');
        api.disconnect();
      }
    }, this.options.connectTimeoutMs);
    api.connect(this.clientId);
  }

  private maybeSession(api: IBApi): void {
    const p = this.pending;
    if (p.accounts === undefined || p.nextValidId === undefined || this.current !== undefined) return;
    clearTimeout(this.connectTimer);
    const session: IbSession = {
      id: p.id,
      api,
      serverVersion: p.serverVersion ?? 0,
      accounts: p.accounts,
      nextValidId: p.nextValidId,
    };
    this.current = session;
    this.lastAccounts = session.accounts;
    this.clientIdInUseSince = undefined;
    this.options.lease?.accepted();
    this.linkUp = true;
    this.update();
    this.options.log.info(
      { sessionId: session.id, accounts: session.accounts, nextValidId: session.nextValidId },
      'IB session started; syncing',
    );
    Promise.allSettled(this.hooks.map((h) => h(session))).then((results) => {
      if (this.current !== session) return;
      for (const r of results)
        if (r.status === 'rejected') this.options.log.warn({ err: r.reason }, 'initial sync incomplete');
      this.synced = true;
      this.everSynced = true;
      this.attempt = 0;
      this.readySince = new Date().toISOString();
      this.update();
      this.options.log.info({ sessionId: session.id, state: this._state }, 'IB session ready');
      this.emit('session', session);
    });
  }

  private onNotice(code: number, message: string, reqId: number, advancedOrderReject?: unknown): void {
    const { log, metrics } = this.options;
    metrics?.ibErrors.inc({ code: String(code) });
    const kind = classifyIbCode(code);
    const fields = { ibCode: code, reqId: reqId >= 0 ? reqId : undefined };
    switch (kind) {
      case 'info':
        log.info(fields, message);
        return;
      case 'farm-ok':
      case 'farm-down':
      case 'farm-inactive': {
        const farm = farmName(message);
        const notice = FARM_NOTICES[code];
        const status: FarmStatus = kind === 'farm-ok' ? 'ok' : kind === 'farm-down' ? 'down' : 'inactive';
        if (notice !== undefined) this.farms.set(farm, { capability: notice.capability, status, code });
        metrics?.farmUp.set({ farm }, status === 'down' ? 0 : 1);
        (status === 'down' ? log.warn : log.info).call(log, { ...fields, farm }, message);
        this.update();
        return;
      }
      case 'link-lost':
        log.warn(fields, message);
        this.linkUp = false;
        this.update();
        return;
      case 'link-restored':
        log.info(fields, message);
        this.linkUp = true;
        this.update();
        return;
      case 'link-restored-lost':
        log.warn(fields, message);
        this.linkUp = true;
        this.update();
        if (this.current !== undefined) this.emit('dataLost', this.current);
        return;
      case 'client-id-in-use':
        this.lastError = { code, message, at: new Date().toISOString() };
        this.clientIdInUseSince ??= this.lastError.at;
        metrics?.clientIdInUse.inc();
        log.error({ ...fields, clientId: this.clientId }, `${message}; backing off`);
        this.options.lease?.refused();
        // IB keeps the socket open after 326 but never starts the session: drop it and retry later.
        this.api?.disconnect();
        return;
      case 'request':
        if (reqId >= 0) {
          log.debug(fields, message);
          this.emit('requestError', { reqId, code, message, advancedOrderReject } satisfies RequestErrorEvent);
        } else {
          this.lastError = { code, message, at: new Date().toISOString() };
          log.warn(fields, message);
        }
        return;
    }
  }

  private onDisconnected(): void {
    const ended = this.current;
    this.teardown();
    if (ended !== undefined) {
      this.options.log.warn({ sessionId: ended.id }, 'IB connection lost');
      this.emit('sessionEnd', ended);
    }
    if (this.stopping) return;
    const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.attempt);
    this.attempt++;
    this.nextAttemptAt = Date.now() + delay;
    this.options.log.info({ delayMs: delay, attempt: this.attempt }, 'reconnecting to IB');
    this.reconnectTimer = setTimeout(() => {
      this.reconnects++;
      this.options.metrics?.reconnects.inc();
      this.connect();
    }, delay);
  }

  private teardown(): void {
    clearTimeout(this.connectTimer);
    this.api?.removeAllListeners();
    this.api = undefined;
    this.current = undefined;
    this.socketUp = false;
    this.synced = false;
    this.linkUp = true;
    this.farms.clear();
    this.options.metrics?.farmUp.reset();
    this.update();
  }

  /** Seconds the mirror has not been live (link or socket down), or undefined while it is live. */
  mirrorAgeSeconds(): number | undefined {
    if (this.mirrorFrozenAt === undefined) return undefined;
    return Math.max(0, Math.floor((Date.now() - this.mirrorFrozenAt) / 1000));
  }

  /** The managed accounts of the current or, while disconnected, the last session. */
  get accounts(): string[] {
    return this.current?.accounts ?? this.lastAccounts;
  }

  /** The mirror was synced at least once in this process (it may be stale: see {@link mirrorAgeSeconds}). */
  get mirrorSynced(): boolean {
    return this.everSynced;
  }

  private update(): void {
    const live = this.serving;
    if (live) this.mirrorFrozenAt = undefined;
    else if (this.everSynced) this.mirrorFrozenAt ??= Date.now();
    const farmsDown = (capability: FarmCapability) =>
      [...this.farms]
        .filter(([, f]) => f.capability === capability && f.status === 'down')
        .map(([name, f]) => `${name} (${f.code})`);
    this.capabilities.derive({
      socket: this.socketUp,
      session: this.current !== undefined,
      synced: this.synced,
      linkUp: this.linkUp,
      everSynced: this.everSynced,
      farmsDown: {
        marketData: farmsDown('marketData'),
        historical: farmsDown('historical'),
        secDef: farmsDown('secDef'),
      },
    });
    let next: ConnectionState;
    if (!this.socketUp) next = this.api !== undefined ? 'connecting' : 'disconnected';
    else if (this.current === undefined || !this.synced) next = 'connected';
    else if (!this.linkUp || [...this.farms.values()].some((f) => f.status === 'down')) next = 'degraded';
    else next = 'ready';
    this.setState(next);
  }

  private setState(next: ConnectionState): void {
    if (next === this._state) return;
    const prev = this._state;
    this._state = next;
    this.options.metrics?.connectionState.set(STATE_VALUE[next]);
    this.options.metrics?.ready.set(next === 'ready' ? 1 : 0);
    this.options.log.info({ from: prev, to: next }, 'IB connection state');
    this.emit('state', next);
  }
}
