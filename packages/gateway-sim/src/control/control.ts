import type { EventEmitter } from 'node:events';
import type { Quote } from '../engine/market.js';
import type { Execution, SimOrder } from '../engine/orders.js';
import type { FillSpec, OrderQuirks, RejectSpec } from '../engine/matching-engine.js';
import type { WhatIfFigures } from '../engine/what-if.js';
import type { RateMode } from '../limits/msg-rate.js';
import type { Violation } from '../limits/violations.js';
import type { RefusalSpec } from './refusals.js';
import type { GatewaySim, ReceivedMessage } from '../server.js';
import { SUBSCRIPTION_KINDS, type SubscriptionKind } from '../subscriptions.js';
import type { SessionOption, SessionProfile } from '../session-profile.js';
import type { Bulletin } from '../engine/feed-state.js';
import { FA_DATA_TYPE } from '../engine/fa-config.js';
import { broadcastBulletin } from '../handlers/news.js';
import { contractInfoProblem, setDisplayGroup } from '../handlers/display-groups.js';
import { refreshScanners } from '../handlers/scanners.js';
import { sendOrderEvent } from '../fanout.js';
import { setOrderStreamQuirks, type OrderStreamQuirks } from './order-stream.js';

import { NOTICE_TEXT } from '../notices.js';

export { NOTICE_TEXT };

/** A plain-JSON view of one order for tests and the HTTP control API. */
export interface OrderView {
  orderId: number;
  clientId: number;
  permId: number;
  parentId: number;
  account: string;
  symbol: string;
  conId: number;
  secType: string;
  action: string;
  totalQuantity: number;
  orderType: string;
  lmtPrice?: number;
  auxPrice?: number;
  ocaGroup: string;
  orderRef: string;
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  history: Array<{ status: string; time: number }>;
}

/** A plain-JSON view of one answered what-if order: the order's own fields plus IB's margin figures. */
export interface WhatIfView
  extends
    WhatIfFigures,
    Pick<
      OrderView,
      | 'orderId'
      | 'clientId'
      | 'account'
      | 'symbol'
      | 'conId'
      | 'secType'
      | 'action'
      | 'totalQuantity'
      | 'orderType'
      | 'lmtPrice'
      | 'auxPrice'
    > {
  /** Epoch ms when it was answered. */
  time: number;
}

export function orderView(o: SimOrder): OrderView {
  return {
    orderId: o.orderId,
    clientId: o.clientId,
    permId: o.permId,
    parentId: o.parentId,
    account: o.account,
    symbol: o.contract.symbol,
    conId: o.contract.conId,
    secType: o.contract.secType,
    action: o.action,
    totalQuantity: o.totalQuantity,
    orderType: o.orderType,
    lmtPrice: o.lmtPrice,
    auxPrice: o.auxPrice,
    ocaGroup: o.ocaGroup,
    orderRef: o.orderRef,
    status: o.status,
    filled: o.filled,
    remaining: Math.max(0, o.totalQuantity - o.filled),
    avgFillPrice: o.avgFillPrice,
    history: [...o.history],
  };
}

export interface ReceivedFilter {
  clientId?: number;
  msgId?: number;
  name?: string;
}

/**
 * The simulator's control surface for tests and demos. Every method is also reachable over HTTP when a
 * control port is configured (see control/http.ts).
 */
export class GatewayControl {
  constructor(private readonly sim: GatewaySim) {}

  /** Emits 'message', 'connect', 'disconnect', 'violation' and 'order' (broker events). */
  get events(): EventEmitter {
    return this.sim.events;
  }

  /** Moves an instrument (symbol of a stock, or conId) to `price`; resting orders and subscribers react. */
  setPrice(symbolOrConId: string | number, price: number): Quote {
    const c =
      typeof symbolOrConId === 'number'
        ? this.sim.engine.catalogue.byConId(symbolOrConId)
        : (this.sim.engine.catalogue.bySymbol(symbolOrConId) ??
          this.sim.engine.catalogue.find({ localSymbol: symbolOrConId })[0]);
    if (!c) throw new Error(`unknown instrument ${symbolOrConId}`);
    if (!(price > 0)) throw new Error(`expected a positive price, got ${price}`);
    return { ...this.sim.engine.market.setPrice(c.conId, price) };
  }

  quote(symbolOrConId: string | number): Quote | undefined {
    const c =
      typeof symbolOrConId === 'number'
        ? this.sim.engine.catalogue.byConId(symbolOrConId)
        : this.sim.engine.catalogue.bySymbol(symbolOrConId);
    const q = c ? this.sim.engine.market.quote(c.conId) : undefined;
    return q ? { ...q } : undefined;
  }

  /** The next transmitted order fills at once (at `price`, in `quantities` parts if given). */
  fillNext(spec: FillSpec = {}): void {
    this.sim.engine.orders.setFillNext(spec);
  }

  /** The next placed order is rejected with `code` (default 201) and `text`. */
  rejectNext(spec: RejectSpec = {}): void {
    this.sim.engine.orders.setRejectNext(spec);
  }

  /**
   * The next `count` requests of message `name` (any request with an id when omitted) are answered with IB
   * error `code` for their id instead of being served, as IB refuses a request (200, 162, 354, 430, 10092…).
   */
  refuseNext(spec: RefusalSpec): void {
    this.sim.refusals.arm(spec);
  }

  /** Drops every armed refusal; returns how many requests were still to be refused. */
  clearRefusals(): number {
    const n = this.sim.refusals.pending();
    this.sim.refusals.clear();
    return n;
  }

  /**
   * Order-stream timing on demand (status before openOrder, a silent IB); see control/order-stream.ts.
   * Switching `silent` off sends what was held.
   */
  orderStream(quirks: OrderStreamQuirks): void {
    for (const ev of setOrderStreamQuirks(this.sim, quirks)) sendOrderEvent(this.sim, ev);
  }

  /** Fills a working order now; quantity defaults to all that remains. */
  fillOrder(ref: { permId?: number; orderId?: number; clientId?: number }, quantity?: number, price?: number): boolean {
    const o = this.sim.engine.orders
      .all()
      .find((x) =>
        ref.permId !== undefined
          ? x.permId === ref.permId
          : x.orderId === ref.orderId && (ref.clientId === undefined || x.clientId === ref.clientId),
      );
    return o ? this.sim.engine.orders.fillOrder(o, quantity, price) : false;
  }

  /** Delays every reply by `ms` (0 restores immediate replies). */
  delayReplies(ms: number): void {
    this.sim.setReplyDelay(ms);
  }

  /** Output in random chunks of 1…maxChunk bytes (fragmented delivery); undefined turns it off. */
  fragment(maxChunk: number | undefined): void {
    this.sim.setFragment(maxChunk ? { maxChunk } : undefined);
  }

  /**
   * Drops every connection and refuses new ones for `downMs` (IB's nightly restart). Finished orders are
   * forgotten (cancel → 10147). `freshIds` also restarts the order-id sequence at 1, as TWS's "Reset API
   * order ID sequence" does: earlier orders keep working but are no longer addressable by id.
   */
  restart(opts: { downMs?: number; freshIds?: boolean } = {}): Promise<void> {
    return this.sim.restart(opts.downMs ?? 1000, { freshIds: opts.freshIds });
  }

  /**
   * IB's untidy order stream, each switch independent: `duplicateStatuses` (every ORDER_STATUS twice),
   * `fillWithoutFilledStatus` (a market order's completing fill has no Filled ORDER_STATUS) and
   * `skipSubmittedStatus` (no Submitted/PreSubmitted ORDER_STATUS on transmit). Returns the switches now in force.
   */
  orderQuirks(set: Partial<OrderQuirks> = {}): OrderQuirks {
    const q = this.sim.engine.orders.quirks;
    for (const k of Object.keys(set) as Array<keyof OrderQuirks>) {
      if (!(k in q)) {
        throw new Error(`expected an order quirk (${Object.keys(q).join(', ')}), got ${JSON.stringify(k)}`);
      }
      if (typeof set[k] !== 'boolean') {
        throw new Error(`expected ${k} to be true or false, got ${JSON.stringify(set[k])}`);
      }
      q[k] = set[k];
    }
    return { ...q };
  }

  /** TWS's "Master API client ID" (default 0): who sees every client's orders, executions and commissions. */
  setMasterClientId(clientId: number): void {
    if (!Number.isInteger(clientId)) throw new Error(`expected an integer client id, got ${JSON.stringify(clientId)}`);
    this.sim.engine.orders.masterClientId = clientId;
  }

  masterClientId(): number {
    return this.sim.engine.orders.masterClientId;
  }

  /** TWS's "Reset API order ID sequence" without a restart: next valid ids start at 1 again. */
  resetOrderIds(): void {
    this.sim.engine.orders.resetIdSequence();
  }

  /** Forgets finished orders (all orders with `all`): their ids answer 10147 on cancel. Returns how many. */
  forgetOrders(opts: { all?: boolean } = {}): number {
    return this.sim.engine.orders.forgetOrders(opts.all ?? false);
  }

  /** The next valid order id the simulator would give `clientId`. */
  nextValidId(clientId: number): number {
    return this.sim.engine.orders.nextValidId(clientId);
  }

  /** Sends 1100 / 1101 / 1102 (or another code) to every client. 1101 also drops their data subscriptions. */
  sendNotice(code: number, text?: string): void {
    this.sim.notice(code, text ?? NOTICE_TEXT[code] ?? `Notice ${code}`);
  }

  /** A farm reports broken (2103/2105/2157), then OK again (2104/2106/2158) after `downMs`. */
  flapFarm(name: string, opts: { downMs?: number } = {}): Promise<void> {
    return this.sim.flapFarm(name, opts.downMs ?? 100);
  }

  /** The session's noise now in force (see `SessionProfile`). */
  session(): SessionProfile {
    return this.sim.session();
  }

  /**
   * Switches the session's noise: `'clean'`, `'realistic'` or a profile. Farms apply to clients that connect
   * afterwards; order quirks at once; schedules restart from now.
   */
  setSession(profile: SessionOption): SessionProfile {
    return this.sim.setSession(profile);
  }

  farms(): Array<{ name: string; kind: string; up: boolean; inactive?: boolean }> {
    return this.sim.farms.map((f) => ({ ...f }));
  }

  /** Treats `clientId` as still connected for `ms`: connections with it get 326 meanwhile. */
  holdClientId(clientId: number, ms: number): void {
    this.sim.holdClientId(clientId, ms);
  }

  setMessageRate(maxPerSecond: number, mode?: RateMode): void {
    this.sim.rate.maxPerSecond = maxPerSecond;
    if (mode) this.sim.rate.mode = mode;
    this.sim.rate.reset();
  }

  /** Violation counters by IB code (100, 101, 162, 326 …) and the recent records. */
  violations(): { byCode: Record<string, number>; total: number; recent: Violation[] } {
    return {
      byCode: this.sim.violations.byCode(),
      total: this.sim.violations.count(),
      recent: [...this.sim.violations.recent()],
    };
  }

  resetViolations(): void {
    this.sim.violations.reset();
    this.sim.pacer.reset();
    this.sim.rate.reset();
  }

  /** What clients sent, optionally filtered by clientId, message id or name. */
  received(filter: ReceivedFilter = {}): ReceivedMessage[] {
    return this.sim.received.filter(
      (m) =>
        (filter.clientId === undefined || m.clientId === filter.clientId) &&
        (filter.msgId === undefined || m.msgId === filter.msgId) &&
        (filter.name === undefined || m.name === filter.name),
    );
  }

  clearReceived(): void {
    this.sim.received.length = 0;
  }

  connections(): ReturnType<GatewaySim['connectionList']> {
    return this.sim.connectionList();
  }

  activeMarketDataLines(): number {
    return this.sim.mdLines.inUse;
  }

  /** Depth books in use, account-wide (IB's default limit is 3 → error 309). */
  activeDepthBooks(): number {
    return this.sim.depthBooks.inUse;
  }

  /**
   * Active subscriptions per kind, summed over clients: `{ marketData, depth, realTimeBars, scanners,
   * newsBulletins, displayGroups, historicalUpdates, accountSummary, accountUpdates, positions, pnl }`.
   */
  activeSubscriptions(): Record<SubscriptionKind, number> {
    return this.sim.activeSubscriptions();
  }

  /**
   * Silently drops every client's subscriptions of the given kinds (all when omitted) and frees their
   * lines and depth books: data just stops, as after an unnoticed reset. Returns the count dropped per kind.
   */
  dropSubscriptions(kinds?: SubscriptionKind | readonly SubscriptionKind[]): Record<SubscriptionKind, number> {
    const list = kinds === undefined ? SUBSCRIPTION_KINDS : typeof kinds === 'string' ? [kinds] : kinds;
    for (const k of list) {
      if (!SUBSCRIPTION_KINDS.includes(k))
        throw new Error(`expected a subscription kind (${SUBSCRIPTION_KINDS.join(', ')}), got ${JSON.stringify(k)}`);
    }
    return this.sim.dropSubscriptions(list);
  }

  /** Closes the forming 5-s bar of every real-time bar subscription and sends it now (instead of the timer). */
  emitRealTimeBars(): void {
    this.sim.emitRealTimeBars();
  }

  /** Re-runs every live scanner subscription and sends SCANNER_DATA now (instead of the timer). */
  refreshScanners(): void {
    refreshScanners(this.sim);
  }

  /** Publishes a news bulletin (type 1 regular, 2 exchange unavailable, 3 exchange available) to subscribers. */
  pushNewsBulletin(b: { message: string; type?: number; exchange?: string }): Bulletin {
    if (typeof b.message !== 'string' || !b.message)
      throw new Error(`expected a non-empty bulletin message, got ${JSON.stringify(b.message)}`);
    const type = b.type ?? 1;
    if (![1, 2, 3].includes(type)) throw new Error(`expected bulletin type 1, 2 or 3, got ${JSON.stringify(type)}`);
    const full = this.sim.feeds.addBulletin({
      type,
      message: b.message,
      exchange: b.exchange ?? '',
      time: this.sim.now(),
    });
    broadcastBulletin(this.sim, full);
    return { ...full };
  }

  newsBulletins(): Bulletin[] {
    return this.sim.feeds.bulletins.map((b) => ({ ...b }));
  }

  /**
   * Shows a contract ("conId@exchange", "none" or "combo") in a display group, as a TWS user would; subscribers hear
   * it.
   */
  setDisplayGroup(groupId: number, contractInfo: string): void {
    if (!this.sim.feeds.displayGroups.has(groupId))
      throw new Error(`expected a display group id 1-7, got ${JSON.stringify(groupId)}`);
    const problem = contractInfoProblem(this.sim, contractInfo);
    if (problem) throw new Error(problem);
    setDisplayGroup(this.sim, groupId, contractInfo);
  }

  /** groupId → contractInfo of every display group. */
  displayGroups(): Record<string, string> {
    return Object.fromEntries([...this.sim.feeds.displayGroups].map(([g, c]) => [String(g), c]));
  }

  /** The FA configuration (master, sub-accounts, groups/profiles/aliases XML), or undefined for a non-FA login. */
  faConfig(): { master: string; accounts: string[]; groups: string; profiles: string; aliases: string } | undefined {
    const fa = this.sim.feeds.fa;
    if (!fa) return undefined;
    return {
      master: fa.master,
      accounts: [...fa.accounts],
      groups: fa.docs.get(FA_DATA_TYPE.groups)!,
      profiles: fa.docs.get(FA_DATA_TYPE.profiles)!,
      aliases: fa.docs.get(FA_DATA_TYPE.aliases)!,
    };
  }

  orders(): OrderView[] {
    return this.sim.engine.orders.all().map(orderView);
  }

  /**
   * Every what-if order answered (oldest first): who asked, the order as previewed and the figures sent
   * in its OPEN_ORDER. None of them is in `orders()`.
   */
  whatIfs(): WhatIfView[] {
    return this.sim.engine.whatIf.all().map(({ order, figures }) => ({
      orderId: order.orderId,
      clientId: order.clientId,
      account: order.account,
      symbol: order.contract.symbol,
      conId: order.contract.conId,
      secType: order.contract.secType,
      action: order.action,
      totalQuantity: order.totalQuantity,
      orderType: order.orderType,
      lmtPrice: order.lmtPrice,
      auxPrice: order.auxPrice,
      time: order.createdAt,
      ...figures,
    }));
  }

  executions(): Array<Omit<Execution, 'contract'> & { symbol: string; conId: number }> {
    return this.sim.engine.orders
      .execs()
      .map(({ contract, ...e }) => ({ ...e, symbol: contract.symbol, conId: contract.conId }));
  }

  positions(): Array<{ account: string; symbol: string; conId: number; quantity: number; avgCost: number }> {
    const out = [];
    for (const [id, a] of this.sim.engine.accounts.byId) {
      for (const p of a.positions.values())
        out.push({
          account: id,
          symbol: p.contract.symbol,
          conId: p.contract.conId,
          quantity: p.quantity,
          avgCost: p.avgCost,
        });
    }
    return out;
  }

  /** Steps the price walk once (instead of waiting for the timer). */
  step(): void {
    this.sim.step();
  }

  /** Polls `predicate` every 10 ms until it holds; rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
