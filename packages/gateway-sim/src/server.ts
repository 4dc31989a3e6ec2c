import { Refusals } from './control/refusals.js';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { createLogger, type Logger } from '@ibrest/common';
import { Engine } from './engine/engine.js';
import { HistoricalPacer, IB_PACING } from './limits/historical-pacing.js';
import { MarketDataLines } from './limits/market-data-lines.js';
import { ArrivalClock, MessageRateLimiter } from './limits/msg-rate.js';
import { Violations, type Violation } from './limits/violations.js';
import { HANDLERS, type SimContext } from './handlers/index.js';
import { fanOutBrokerEvent, fanOutQuote } from './fanout.js';
import { Session, type SessionHost } from './session.js';
import { DATA_LOST_KINDS, SUBSCRIPTION_KINDS, type SubscriptionKind } from './subscriptions.js';
import { FeedState } from './engine/feed-state.js';
import { emitRealTimeBars } from './handlers/real-time-bars.js';
import { refreshScanners } from './handlers/scanners.js';
import { resolveOptions, type GatewaySimOptions, type ResolvedOptions } from './options.js';
import { IN, inName, UNSERVED_REQUESTS } from './wire/msg-ids.js';
import type { OrderIdState } from './engine/matching-engine.js';
import { msUntilUtc, resolveSession, type SessionOption, type SessionProfile } from './session-profile.js';
import { NOTICE_TEXT } from './notices.js';

/** One request as a client sent it, kept for the control API. */
export interface ReceivedMessage {
  connectionId: number;
  clientId: number | undefined;
  msgId: number;
  name: string;
  /** All fields after the message id, as strings. */
  fields: string[];
  /** Epoch ms. */
  time: number;
}

export interface FarmState {
  name: string;
  kind: 'market' | 'hmds' | 'secdef';
  up: boolean;
  /** "Inactive but should be available upon demand" (2108 market, 2107 HMDS): not connected, not broken. */
  inactive?: boolean;
}

/** Notice codes and texts per farm kind (down, up), as TWS words them. */
export const FARM_CODES = {
  market: {
    down: 2103,
    up: 2104,
    downText: 'Market data farm connection is broken',
    upText: 'Market data farm connection is OK',
  },
  hmds: {
    down: 2105,
    up: 2106,
    downText: 'HMDS data farm connection is broken',
    upText: 'HMDS data farm connection is OK',
  },
  secdef: {
    down: 2157,
    up: 2158,
    downText: 'Sec-def data farm connection is broken',
    upText: 'Sec-def data farm connection is OK',
  },
} as const;

/** "Inactive but available on demand" notices per farm kind, as TWS words them (a dot before the farm's name). */
export const FARM_INACTIVE = {
  market: { code: 2108, text: 'Market data farm connection is inactive but should be available upon demand.' },
  hmds: { code: 2107, text: 'HMDS data farm connection is inactive but should be available upon demand.' },
} as const;

const MAX_RECEIVED = 50_000;

/**
 * The simulated gateway: TCP listener, clientId registry, account-wide limits, and the glue between sessions
 * and the shared engine. Faults (restart, notices, farm flaps, held clientIds) are methods the control API calls.
 */
export class GatewaySim implements SimContext, SessionHost {
  readonly opts: ResolvedOptions;
  readonly engine: Engine;
  readonly log: Logger;
  readonly violations = new Violations();
  /** IB errors armed to answer the next requests (tests: the caller's request refused by IB). */
  readonly refusals = new Refusals();
  readonly rate: MessageRateLimiter;
  /** Arrival times of inbound messages for IB's rate, robust to stalls of the simulator's own event loop. */
  private readonly arrivals: ArrivalClock;
  readonly pacer: HistoricalPacer;
  readonly mdLines: MarketDataLines;
  readonly depthBooks: MarketDataLines;
  readonly feeds: FeedState;
  readonly events = new EventEmitter();
  readonly farms: FarmState[] = [];
  private profile: SessionProfile = resolveSession('clean');
  private readonly sessionTimers = new Set<NodeJS.Timeout>();
  private flapCursor = 0;
  readonly received: ReceivedMessage[] = [];
  private readonly sessions = new Set<Session>();
  /** clientId → session holding it */
  private readonly clients = new Map<number, Session>();
  /** clientId → epoch ms until which it is held as "stuck" */
  private readonly heldIds = new Map<number, number>();
  private readonly watched = new Set<number>();
  private server: Server | undefined;
  private boundPort = 0;
  private nextConnectionId = 1;
  private delayMs = 0;
  private fragmentOpt: { maxChunk: number } | undefined;
  private stepTimer: NodeJS.Timeout | undefined;
  private barTimer: NodeJS.Timeout | undefined;
  private scannerTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private linkDown = false;
  private closed = false;

  constructor(options: GatewaySimOptions = {}) {
    this.opts = resolveOptions(options);
    this.log = (this.opts.logger ?? createLogger('gateway-sim', 'silent')).child({ component: 'gateway-sim' });
    this.engine = new Engine({ seed: this.opts.seed, clock: this.opts.clock, accounts: this.opts.accounts });
    this.rate = new MessageRateLimiter(this.opts.msgRate, this.opts.rateMode);
    this.arrivals = new ArrivalClock();
    this.pacer = new HistoricalPacer({ ...IB_PACING, ...this.opts.pacing });
    this.mdLines = new MarketDataLines(this.opts.marketDataLines);
    this.depthBooks = new MarketDataLines(this.opts.depthBooks);
    this.feeds = new FeedState(this.opts.faMaster, this.engine.accounts.ids());
    this.fragmentOpt = this.opts.fragment || undefined;
    this.engine.orders.masterClientId = this.opts.masterClientId;
    this.setSession(this.opts.session);
    if (this.opts.stateDir) this.persistIds(this.opts.stateDir);
    this.engine.onEvent((ev) => {
      fanOutBrokerEvent(this, ev);
      this.events.emit('order', ev);
    });
    this.engine.market.onChange((q) => fanOutQuote(this, q, this.linkDown));
  }

  /** Loads the order-id state from `dir` (if any) and writes it back after every change. */
  private persistIds(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'order-ids.json');
    try {
      this.engine.orders.loadIdState(JSON.parse(readFileSync(file, 'utf8')) as OrderIdState);
      this.log.info({ file }, 'order ids restored');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.engine.orders.onIdState = (st) => {
      writeFileSync(`${file}.tmp`, JSON.stringify(st));
      renameSync(`${file}.tmp`, file);
    };
  }

  // ── lifecycle ────────────────────────────────

  get port(): number {
    return this.boundPort;
  }

  async listen(port = this.opts.port): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
    if (this.opts.tickIntervalMs > 0 && !this.stepTimer) {
      this.stepTimer = setInterval(() => this.step(), this.opts.tickIntervalMs);
      this.stepTimer.unref();
    }
    if (!this.barTimer) {
      this.barTimer = setInterval(() => this.emitRealTimeBars(), this.opts.realTimeBarMs);
      this.barTimer.unref();
    }
    if (this.opts.scannerRefreshMs > 0 && !this.scannerTimer) {
      this.scannerTimer = setInterval(() => refreshScanners(this), this.opts.scannerRefreshMs);
      this.scannerTimer.unref();
    }
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.arrivals.close();
    if (this.stepTimer) clearInterval(this.stepTimer);
    if (this.barTimer) clearInterval(this.barTimer);
    if (this.scannerTimer) clearInterval(this.scannerTimer);
    this.clearSessionTimers();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of [...this.sessions]) s.destroy();
    await this.stopListening();
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const s = new Session(this.nextConnectionId++, socket, this);
    this.sessions.add(s);
    this.log.debug({ connectionId: s.id, remote: s.remote }, 'connection');
  }

  /** Sends the bar that just closed to every real-time bar subscriber (not while the link is down). */
  emitRealTimeBars(): void {
    if (!this.linkDown) emitRealTimeBars(this);
  }

  /** Steps the price walk of every instrument someone streams or has a working order in. */
  step(): void {
    const ids = new Set(this.watched);
    for (const s of this.sessions) for (const id of s.subs.conIdsInUse()) ids.add(id);
    for (const o of this.engine.orders.open()) ids.add(o.contract.conId);
    // Live scanners rank stocks by change and volume: keep those moving while one is open.
    if ([...this.sessions].some((s) => s.subs.scanners.size > 0)) {
      for (const c of this.engine.catalogue.all) if (c.secType === 'STK') ids.add(c.conId);
    }
    this.watched.clear();
    for (const s of this.sessions) for (const id of s.subs.conIdsInUse()) this.watched.add(id);
    if (ids.size > 0) this.engine.market.step(ids);
  }

  // ── SessionHost ──────────────────────────────

  get maxServerVersion(): number {
    return this.opts.serverVersion;
  }

  get maxFrameBytes(): number {
    return this.opts.maxFrameBytes;
  }

  now(): number {
    return this.engine.clock.now();
  }

  replyDelayMs(): number {
    return this.delayMs;
  }

  fragment(): { maxChunk: number } | undefined {
    return this.fragmentOpt;
  }

  onMessage(s: Session, fields: string[]): void {
    const now = this.now();
    const msgId = Number(fields[0]);
    const entry = Number.isInteger(msgId) ? HANDLERS.get(msgId) : undefined;
    const rec: ReceivedMessage = {
      connectionId: s.id,
      clientId: s.clientId,
      msgId: Number.isInteger(msgId) ? msgId : -1,
      name: entry?.name ?? inName(msgId),
      fields: fields.slice(1),
      time: now,
    };
    this.received.push(rec);
    if (this.received.length > MAX_RECEIVED) this.received.shift();
    this.events.emit('message', rec);

    // IB's message rate is wall-clock time of arrival, whatever clock the broker runs on.
    if (this.arrivals.stamp((at) => this.countMessage(s, at)) === 'disconnected') return;
    if (s.state === 'awaiting-start' && msgId !== IN.START_API) {
      this.log.debug({ connectionId: s.id, msgId }, 'request before START_API ignored');
      return;
    }
    if (!entry) {
      const unserved = Number.isInteger(msgId) ? UNSERVED_REQUESTS.get(msgId) : undefined;
      if (unserved) {
        const reqId = unserved.reqIdAt === undefined ? -1 : Number(fields[1 + unserved.reqIdAt]);
        this.log.info({ connectionId: s.id, clientId: s.clientId, msg: unserved.name }, 'request not simulated');
        s.sendError(
          Number.isInteger(reqId) ? reqId : -1,
          321,
          `Error validating request.-'${msgId}' : cause - ${unserved.name} is not simulated`,
        );
        return;
      }
      this.log.info({ connectionId: s.id, clientId: s.clientId, msgId: fields[0] }, 'unknown message id');
      s.sendError(-1, 505, 'Fatal Error: Unknown message id.');
      return;
    }
    try {
      const refused = this.refusals.run(entry.name, fields, (r) => entry.handle(this, s, r));
      if (refused !== undefined) s.sendError(refused.id, refused.code, refused.text);
    } catch (err) {
      const e = err as Error;
      if (e.name !== 'UnderrunError' && e.name !== 'BadFieldError') throw err;
      this.log.info({ connectionId: s.id, clientId: s.clientId, msg: entry.name, err: e.message }, 'malformed request');
      s.sendError(-1, 320, `Server error when reading an API client request. ${entry.name}: ${e.message}`);
    }
  }

  /** Counts one message against IB's rate; the third violation disconnects the client. */
  private countMessage(s: Session, at: number): 'counted' | 'disconnected' {
    if (!this.sessions.has(s)) return 'disconnected';
    const verdict = this.rate.hit(s.id, at);
    if (!verdict.violated) return 'counted';
    const text =
      `Max rate of messages per second has been exceeded:max=${this.rate.maxPerSecond} ` +
      `rec=${verdict.received} (${verdict.strikes})`;
    s.sendError(-1, 100, text);
    this.violation({ code: 100, clientId: s.clientId, text });
    if (verdict.strikes < 3) return 'counted';
    this.log.warn({ clientId: s.clientId, ibCode: 100 }, 'disconnecting client after third message-rate violation');
    s.endAfterFlush();
    return 'disconnected';
  }

  onClosed(s: Session): void {
    this.sessions.delete(s);
    if (s.clientId !== undefined && this.clients.get(s.clientId) === s) this.clients.delete(s.clientId);
    this.mdLines.releaseAll(s.id);
    this.depthBooks.releaseAll(s.id);
    this.rate.forget(s.id);
    this.log.debug({ connectionId: s.id, clientId: s.clientId }, 'disconnect');
    this.events.emit('disconnect', { connectionId: s.id, clientId: s.clientId });
  }

  // ── SimContext ───────────────────────────────

  get farmNotices(): Array<{ code: number; text: string }> {
    return this.farms.map((f) => {
      if (f.inactive && f.kind !== 'secdef') {
        return { code: FARM_INACTIVE[f.kind].code, text: `${FARM_INACTIVE[f.kind].text}${f.name}` };
      }
      const c = FARM_CODES[f.kind];
      return f.up ? { code: c.up, text: `${c.upText}:${f.name}` } : { code: c.down, text: `${c.downText}:${f.name}` };
    });
  }

  violation(v: Omit<Violation, 'time'>): void {
    const full = { ...v, time: this.now() };
    this.violations.record(full);
    this.log.info({ clientId: v.clientId, ibCode: v.code, reqId: v.reqId }, v.text);
    this.events.emit('violation', full);
  }

  registerClient(s: Session, clientId: number): string | undefined {
    const held = this.heldIds.get(clientId);
    if (this.clients.has(clientId) || (held !== undefined && held > Date.now())) {
      return 'Unable to connect as the client id is already in use. Retry with a unique client id.';
    }
    if (this.clients.size >= this.opts.maxClients) {
      return `Unable to connect: the maximum number of API clients (${this.opts.maxClients}) is already connected.`;
    }
    s.clientId = clientId;
    s.state = 'ready';
    this.clients.set(clientId, s);
    this.log.info({ clientId, serverVersion: s.serverVersion, connectionId: s.id }, 'client connected');
    this.events.emit('connect', { connectionId: s.id, clientId, serverVersion: s.serverVersion });
    return undefined;
  }

  readySessions(): Session[] {
    return [...this.sessions].filter((s) => s.state === 'ready');
  }

  priceWatch(conId: number): void {
    this.watched.add(conId);
  }

  /** MANAGED_ACCTS: an FA login lists its master account first, then the sub-accounts. */
  managedAccounts(): string[] {
    const ids = this.engine.accounts.ids();
    return this.opts.faMaster ? [this.opts.faMaster, ...ids] : ids;
  }

  isLinkDown(): boolean {
    return this.linkDown;
  }

  // ── faults and settings (the control API calls these) ──

  setReplyDelay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  setFragment(f: { maxChunk: number } | undefined): void {
    this.fragmentOpt = f;
  }

  setLinkDown(down: boolean): void {
    this.linkDown = down;
  }

  /** Drops every connection and refuses new ones for `downMs` (the nightly restart). Resolves when back up. */
  async restart(downMs: number, opts: { freshIds?: boolean } = {}): Promise<void> {
    // Stop accepting first, then drop everyone: server.close() only completes once no connection is left.
    const stopped = this.stopListening();
    for (const s of [...this.sessions]) s.destroy();
    this.clients.clear();
    await stopped;
    // A restarted gateway no longer knows the finished orders of the previous session.
    this.engine.orders.forgetOrders();
    if (opts.freshIds) this.engine.orders.resetIdSequence();
    this.log.info({ downMs, freshIds: opts.freshIds ?? false }, 'restart: all connections dropped');
    await new Promise<void>((resolve) => this.later(downMs, resolve));
    if (this.closed) return;
    await this.listen(this.boundPort);
  }

  /** Sends an IB system notice (1100, 1101, 1102 …) to every client; 1101 drops their data subscriptions. */
  notice(code: number, text: string): void {
    if (code === 1100) this.linkDown = true;
    if (code === 1101 || code === 1102) this.linkDown = false;
    for (const s of this.readySessions()) {
      s.sendError(-1, code, text);
      if (code === 1101) this.dropOf(s, DATA_LOST_KINDS);
    }
  }

  /** Forgets subscriptions of the given kinds for one session and frees their lines and depth books. */
  private dropOf(s: Session, kinds: readonly SubscriptionKind[]): void {
    const d = s.subs.drop(kinds);
    for (const reqId of d.marketData) this.mdLines.release(s.id, reqId, 'mkt');
    for (const reqId of d.realTimeBars) this.mdLines.release(s.id, reqId, 'rtb');
    for (const reqId of d.depth) this.depthBooks.release(s.id, reqId, 'depth');
  }

  /**
   * Silently drops every client's subscriptions of the given kinds (all kinds when omitted): the data stops
   * with no message, as IB's subscriptions go dead after a reset. Returns how many were dropped per kind.
   */
  dropSubscriptions(kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS): Record<SubscriptionKind, number> {
    const before = this.activeSubscriptions();
    for (const s of this.readySessions()) this.dropOf(s, kinds);
    const after = this.activeSubscriptions();
    return Object.fromEntries(SUBSCRIPTION_KINDS.map((k) => [k, before[k] - after[k]])) as Record<
      SubscriptionKind,
      number
    >;
  }

  /** Active subscriptions of every kind, summed over all connected clients. */
  activeSubscriptions(): Record<SubscriptionKind, number> {
    const out = Object.fromEntries(SUBSCRIPTION_KINDS.map((k) => [k, 0])) as Record<SubscriptionKind, number>;
    for (const s of this.sessions) for (const k of SUBSCRIPTION_KINDS) out[k] += s.subs.count(k);
    return out;
  }

  /** Reports a farm down (2103/2105/2157) and, after `downMs`, OK again (2104/2106/2158). */
  flapFarm(name: string, downMs: number): Promise<void> {
    let farm = this.farms.find((f) => f.name === name);
    if (!farm) {
      farm = { name, kind: /hmds/.test(name) ? 'hmds' : /secdef/.test(name) ? 'secdef' : 'market', up: true };
      this.farms.push(farm);
    }
    const f = farm;
    const codes = FARM_CODES[f.kind];
    f.up = false;
    f.inactive = false;
    for (const s of this.readySessions()) s.sendError(-1, codes.down, `${codes.downText}:${f.name}`);
    return new Promise((resolve) =>
      this.later(downMs, () => {
        f.up = true;
        for (const s of this.readySessions()) s.sendError(-1, codes.up, `${codes.upText}:${f.name}`);
        resolve();
      }),
    );
  }

  /** The session's noise now in force. */
  session(): SessionProfile {
    return structuredClone(this.profile);
  }

  /**
   * Switches the session's noise: the farms announced to the next clients, the order quirks and the schedules
   * of farm flaps, link blips and the nightly restart (each restarted from now).
   */
  setSession(option: SessionOption | undefined): SessionProfile {
    const p = resolveSession(option);
    this.profile = p;
    this.farms.length = 0;
    for (const f of p.farms) {
      this.farms.push({ name: f.name, kind: f.kind, up: !f.inactive, inactive: f.inactive || undefined });
    }
    Object.assign(this.engine.orders.quirks, p.orderQuirks);
    this.clearSessionTimers();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(() => {
        if (!this.closed) fn();
      }, ms);
      t.unref();
      this.sessionTimers.add(t);
    };
    if (p.farmFlaps) {
      const { everyMs, downMs } = p.farmFlaps;
      every(everyMs, () => {
        const up = this.farms.filter((f) => f.up && !f.inactive);
        if (up.length === 0) return;
        const f = up[this.flapCursor++ % up.length]!;
        void this.flapFarm(f.name, downMs);
      });
    }
    if (p.linkBlips) {
      const { everyMs, downMs, restore } = p.linkBlips;
      every(everyMs, () => {
        if (this.linkDown) return;
        this.notice(1100, NOTICE_TEXT[1100]!);
        this.later(downMs, () => this.notice(restore, NOTICE_TEXT[restore]!));
      });
    }
    if (p.nightlyRestart) this.scheduleNightly(p.nightlyRestart.at, p.nightlyRestart.downMs);
    return structuredClone(p);
  }

  private scheduleNightly(at: string, downMs: number): void {
    const t = setTimeout(
      () => {
        this.sessionTimers.delete(t);
        if (this.closed) return;
        this.log.info({ at }, 'nightly restart');
        void this.restart(downMs).then(() => {
          if (this.profile.nightlyRestart?.at === at) this.scheduleNightly(at, downMs);
        });
      },
      msUntilUtc(at, Date.now()),
    );
    t.unref();
    this.sessionTimers.add(t);
  }

  private clearSessionTimers(): void {
    for (const t of this.sessionTimers) clearTimeout(t);
    this.sessionTimers.clear();
  }

  holdClientId(clientId: number, ms: number): void {
    this.heldIds.set(clientId, Date.now() + ms);
  }

  connectionList(): Array<{
    connectionId: number;
    clientId: number | undefined;
    serverVersion: number;
    state: string;
    remote: string;
    connectedAt: number;
  }> {
    return [...this.sessions].map((s) => ({
      connectionId: s.id,
      clientId: s.clientId,
      serverVersion: s.serverVersion,
      state: s.state,
      remote: s.remote,
      connectedAt: s.connectedAt,
    }));
  }
}
