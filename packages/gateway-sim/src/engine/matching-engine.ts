import { Accounts, commissionFor } from './accounts.js';
import type { ContractDef } from './catalogue.js';
import type { Clock } from './clock.js';
import type { BrokerListener } from './events.js';
import type { Market, Quote } from './market.js';
import { isDone, remaining, type Execution, type OrderRequest, type OrderStatus, type SimOrder } from './orders.js';

/** Force the next transmitted order to fill, at a price and in parts if given (partial fills). */
export interface FillSpec {
  price?: number;
  quantities?: number[];
}

/** Force the next order to be rejected with IB's code and text (default 201). */
export interface RejectSpec {
  code?: number;
  text?: string;
  /** Final status sent after the error (IB sends Cancelled for most rejections; Inactive for some). */
  status?: 'Cancelled' | 'Inactive';
}

export type PlaceResult = { ok: true; order: SimOrder } | { ok: false; code: number; text: string };

/**
 * How IB's real order stream departs from the tidy one (all off by default). IB documents that ORDER_STATUS
 * is often sent more than once for one change and that a market order may be filled with no Filled status
 * (execDetails only).
 */
export interface OrderQuirks {
  /** Every ORDER_STATUS is sent twice. */
  duplicateStatuses: boolean;
  /** A market order's completing fill sends execDetails, openOrder and the commission report, no Filled status. */
  fillWithoutFilledStatus: boolean;
  /** The Submitted/PreSubmitted status of a newly transmitted order is not sent (openOrder carries it). */
  skipSubmittedStatus: boolean;
}

/** Order-id state kept across simulator restarts (the state directory). */
export interface OrderIdState {
  /** clientId → the next id IB accepts (one above the highest id the client used). */
  nextIds: Record<string, number>;
  nextPermId: number;
  execSeq: number;
}

/** IB's texts for order refusals this engine raises. */
export const ORDER_TEXT = {
  duplicateId: 'Duplicate order id',
  offTick: 'The price does not conform to the minimum price variation for this contract.',
} as const;

const SUPPORTED_TYPES = new Set(['MKT', 'LMT', 'STP', 'STP LMT']);

/**
 * The simulated broker's order book: order state machine, fills, OCA groups, brackets with `transmit`
 * semantics. Every observable change goes out as a BrokerEvent in IB's order; the engine is synchronous and
 * deterministic (prices come from the seeded Market, time from the injected Clock).
 */
export class MatchingEngine {
  /** `${clientId}:${orderId}` → order, for the current id sequence */
  private readonly orders = new Map<string, SimOrder>();
  /** Orders the broker no longer addresses by id (earlier id sequences, forgotten finished orders). */
  private readonly retired: SimOrder[] = [];
  private readonly executions: Execution[] = [];
  /** clientId → next order id to hand out */
  private readonly nextIds = new Map<number, number>();
  private nextPermId: number;
  private execSeq = 0;
  private fillNextSpec: FillSpec | undefined;
  private rejectNextSpec: RejectSpec | undefined;
  private readonly execPrefix: string;
  /** TWS's "Master API client ID": sees every client's orders, executions and commission reports. */
  masterClientId = 0;
  readonly quirks: OrderQuirks = {
    duplicateStatuses: false,
    fillWithoutFilledStatus: false,
    skipSubmittedStatus: false,
  };
  /** Called after every change of the order-id state (persistence). */
  onIdState: ((s: OrderIdState) => void) | undefined;

  constructor(
    private readonly accounts: Accounts,
    private readonly market: Market,
    private readonly clock: Clock,
    private readonly emit: BrokerListener,
    seed: number,
  ) {
    this.nextPermId = 1_900_000_001 + (Math.abs(seed) % 1000) * 100_000;
    this.execPrefix = `0000e0d5.${(0x65a1b2c3 + (Math.abs(seed) % 4096)).toString(16)}`;
    market.onChange((q) => this.onQuote(q));
  }

  // ── queries ─────────────────────────────────

  all(): SimOrder[] {
    return [...this.retired, ...this.orders.values()];
  }

  open(): SimOrder[] {
    return this.all().filter((o) => !isDone(o));
  }

  completed(): SimOrder[] {
    return this.all().filter(isDone);
  }

  execs(): readonly Execution[] {
    return this.executions;
  }

  find(clientId: number, orderId: number): SimOrder | undefined {
    const own = this.orders.get(`${clientId}:${orderId}`);
    if (own || clientId !== 0) return own;
    // clientId 0 may address any client's order by id (it binds TWS and other clients' orders).
    const matches = [...this.orders.values()].filter((o) => o.orderId === orderId);
    return matches.length === 1 ? matches[0] : undefined;
  }

  nextValidId(clientId: number): number {
    return this.nextIds.get(clientId) ?? 1;
  }

  setFillNext(spec: FillSpec): void {
    this.fillNextSpec = spec;
  }

  setRejectNext(spec: RejectSpec): void {
    this.rejectNextSpec = spec;
  }

  idState(): OrderIdState {
    return { nextIds: Object.fromEntries(this.nextIds), nextPermId: this.nextPermId, execSeq: this.execSeq };
  }

  /** Restores ids saved by an earlier run: ids keep increasing across restarts, as IB's do. */
  loadIdState(st: OrderIdState): void {
    this.nextIds.clear();
    for (const [k, v] of Object.entries(st.nextIds)) this.nextIds.set(Number(k), v);
    this.nextPermId = Math.max(this.nextPermId, st.nextPermId);
    this.execSeq = Math.max(this.execSeq, st.execSeq);
  }

  /**
   * TWS's "Reset API order ID sequence": every client's next valid id goes back to 1. Orders of the earlier
   * sequence keep working and are still reported, but are no longer addressable by their order id
   * (cancel → 10147).
   */
  resetIdSequence(): void {
    this.nextIds.clear();
    this.retire(() => true);
    this.saveIds();
  }

  /** Forgets finished orders (or all when `all`): cancel/modify of their ids is answered as for unknown ids. */
  forgetOrders(all = false): number {
    return this.retire((o) => all || isDone(o));
  }

  private retire(which: (o: SimOrder) => boolean): number {
    let n = 0;
    for (const [k, o] of this.orders) {
      if (!which(o)) continue;
      this.orders.delete(k);
      this.retired.push(o);
      n++;
    }
    return n;
  }

  private saveIds(): void {
    this.onIdState?.(this.idState());
  }

  // ── commands ────────────────────────────────

  place(clientId: number, req: OrderRequest, contract: ContractDef): PlaceResult {
    const existing = this.find(clientId, req.orderId);
    if (existing) return this.modify(existing, req);
    // IB accepts a new order id only above every id the client used before (persisted across restarts).
    if (req.orderId < this.nextValidId(clientId)) return { ok: false, code: 103, text: ORDER_TEXT.duplicateId };
    const invalid = this.validate(req, contract);
    if (invalid) return invalid;
    this.nextIds.set(clientId, Math.max(this.nextValidId(clientId), req.orderId + 1));
    const now = this.clock.now();
    const order: SimOrder = {
      ...req,
      action: req.action.toUpperCase(),
      orderType: req.orderType.toUpperCase(),
      account: req.account || this.accounts.defaultId(),
      clientId,
      permId: this.nextPermId++,
      contract,
      status: 'PendingSubmit',
      filled: 0,
      avgFillPrice: 0,
      lastFillPrice: 0,
      triggered: false,
      transmitted: false,
      whyHeld: '',
      history: [],
      createdAt: now,
    };
    this.orders.set(`${clientId}:${req.orderId}`, order);
    this.saveIds();

    if (this.rejectNextSpec) {
      const r = this.rejectNextSpec;
      this.rejectNextSpec = undefined;
      this.emit({
        type: 'orderError',
        order,
        code: r.code ?? 201,
        text: r.text ?? 'Order rejected - reason:Simulated rejection',
      });
      this.setStatus(order, r.status ?? 'Cancelled', 'Rejected');
      this.emit({ type: 'openOrder', order });
      this.emitStatus(order);
      return { ok: true, order };
    }
    if (!req.transmit) {
      // Held in the "not transmitted" state until a later order of its group is sent with transmit=true.
      this.setStatus(order, 'PendingSubmit');
      this.emit({ type: 'openOrder', order });
      this.emitStatus(order);
      return { ok: true, order };
    }
    for (const o of this.group(order)) this.transmit(o);
    return { ok: true, order };
  }

  cancel(clientId: number, orderId: number): { ok: true } | { ok: false; code: number; text: string } {
    const o = this.find(clientId, orderId);
    if (!o) return { ok: false, code: 10147, text: `OrderId ${orderId} that needs to be cancelled is not found.` };
    if (isDone(o)) {
      return {
        ok: false,
        code: 10148,
        text: `OrderId ${orderId} that needs to be cancelled cannot be cancelled, state: ${o.status}.`,
      };
    }
    this.cancelOrder(o, 'Cancelled by API');
    return { ok: true };
  }

  globalCancel(): void {
    for (const o of this.open()) this.cancelOrder(o, 'Global cancel');
  }

  /** Fills a resting order now (control API); quantity defaults to what remains. */
  fillOrder(o: SimOrder, quantity?: number, price?: number): boolean {
    if (isDone(o) || !o.transmitted) return false;
    const q = this.market.quote(o.contract.conId);
    const px = price ?? (o.action === 'BUY' ? q?.ask : q?.bid) ?? o.contract.basePrice;
    this.fill(o, Math.min(quantity ?? remaining(o), remaining(o)), this.withinLimit(o, px));
    return true;
  }

  // ── internals ───────────────────────────────

  /** IB's checks a new order (or a what-if) must pass; the error to send when it does not. */
  validate(req: OrderRequest, contract?: ContractDef): { ok: false; code: number; text: string } | undefined {
    const action = req.action.toUpperCase();
    const type = req.orderType.toUpperCase();
    if (action !== 'BUY' && action !== 'SELL')
      return { ok: false, code: 201, text: `Order rejected - reason:Invalid action ${req.action}` };
    if (!(req.totalQuantity > 0)) return { ok: false, code: 434, text: 'The order size cannot be zero.' };
    if (!SUPPORTED_TYPES.has(type))
      return { ok: false, code: 387, text: 'Unsupported order type for this exchange and security type.' };
    if ((type === 'LMT' || type === 'STP LMT') && req.lmtPrice === undefined) {
      return { ok: false, code: 201, text: 'Order rejected - reason:Missing limit price' };
    }
    if ((type === 'STP' || type === 'STP LMT') && req.auxPrice === undefined) {
      return { ok: false, code: 201, text: 'Order rejected - reason:Missing stop price' };
    }
    if (req.account && !this.accounts.get(req.account)) {
      return { ok: false, code: 201, text: `Order rejected - reason:Invalid account code ${req.account}` };
    }
    if (contract && contract.minTick > 0) {
      for (const p of [type === 'LMT' || type === 'STP LMT' ? req.lmtPrice : undefined, req.auxPrice]) {
        if (p !== undefined && !onTick(p, contract.minTick)) return { ok: false, code: 110, text: ORDER_TEXT.offTick };
      }
    }
    return undefined;
  }

  private modify(o: SimOrder, req: OrderRequest): PlaceResult {
    if (o.status === 'Filled') return { ok: false, code: 104, text: "Can't modify a filled order." };
    if (isDone(o)) return { ok: false, code: 103, text: ORDER_TEXT.duplicateId };
    const invalid = this.validate(req, o.contract);
    if (invalid) return invalid;
    if (req.totalQuantity < o.filled)
      return { ok: false, code: 201, text: 'Order rejected - reason:Quantity below filled quantity' };
    o.totalQuantity = req.totalQuantity;
    o.orderType = req.orderType.toUpperCase();
    o.lmtPrice = req.lmtPrice;
    o.auxPrice = req.auxPrice;
    o.tif = req.tif;
    o.orderRef = req.orderRef;
    o.outsideRth = req.outsideRth;
    if (!o.transmitted && req.transmit) {
      for (const g of this.group(o)) this.transmit(g);
      return { ok: true, order: o };
    }
    this.emit({ type: 'openOrder', order: o });
    this.emitStatus(o);
    this.tryMatch(o);
    return { ok: true, order: o };
  }

  /** The bracket an order belongs to: its parent and all of the parent's children. */
  private group(o: SimOrder): SimOrder[] {
    const rootId = o.parentId || o.orderId;
    const out = this.all().filter(
      (x) =>
        x.clientId === o.clientId && !isDone(x) && !x.transmitted && (x.orderId === rootId || x.parentId === rootId),
    );
    if (!out.includes(o)) out.push(o);
    // Parent first so children see it transmitted.
    return out.sort((a, b) => (a.parentId ? 1 : 0) - (b.parentId ? 1 : 0) || a.orderId - b.orderId);
  }

  private parentOf(o: SimOrder): SimOrder | undefined {
    return o.parentId ? this.orders.get(`${o.clientId}:${o.parentId}`) : undefined;
  }

  private isStop(o: SimOrder): boolean {
    return o.orderType === 'STP' || o.orderType === 'STP LMT';
  }

  private transmit(o: SimOrder): void {
    o.transmitted = true;
    const parent = this.parentOf(o);
    const waiting = parent !== undefined && parent.status !== 'Filled';
    // Stops and children waiting for their parent are held at IB ("simulated"): PreSubmitted.
    const status: OrderStatus = waiting || (this.isStop(o) && !o.triggered) ? 'PreSubmitted' : 'Submitted';
    o.whyHeld = waiting ? 'child' : '';
    this.setStatus(o, status);
    this.emit({ type: 'openOrder', order: o });
    if (!this.quirks.skipSubmittedStatus) this.emitStatus(o);
    if (this.fillNextSpec && !waiting) {
      const spec = this.fillNextSpec;
      this.fillNextSpec = undefined;
      this.forceFill(o, spec);
      return;
    }
    this.tryMatch(o);
  }

  private forceFill(o: SimOrder, spec: FillSpec): void {
    const q = this.market.quote(o.contract.conId);
    const px = this.withinLimit(o, spec.price ?? (o.action === 'BUY' ? q?.ask : q?.bid) ?? o.contract.basePrice);
    const parts = spec.quantities?.length ? spec.quantities : [remaining(o)];
    for (const part of parts) {
      const qty = Math.min(part, remaining(o));
      if (qty <= 0 || isDone(o)) break;
      this.fill(o, qty, px);
    }
  }

  /** A limit order never fills through its limit: a forced price beyond it fills at the limit. */
  private withinLimit(o: SimOrder, px: number): number {
    if ((o.orderType !== 'LMT' && o.orderType !== 'STP LMT') || o.lmtPrice === undefined) return px;
    return o.action === 'BUY' ? Math.min(px, o.lmtPrice) : Math.max(px, o.lmtPrice);
  }

  private onQuote(q: Quote): void {
    for (const o of this.open()) if (o.contract.conId === q.conId) this.tryMatch(o);
  }

  /** Fills the order if the current quote allows it (stops trigger on the last price). */
  private tryMatch(o: SimOrder): void {
    if (isDone(o) || !o.transmitted) return;
    const parent = this.parentOf(o);
    if (parent && parent.status !== 'Filled') return;
    const q = this.market.quote(o.contract.conId);
    if (!q) return;
    const buy = o.action === 'BUY';
    if (this.isStop(o) && !o.triggered) {
      const stop = o.auxPrice ?? 0;
      if (!(buy ? q.last >= stop : q.last <= stop)) return;
      o.triggered = true;
      this.setStatus(o, 'Submitted');
      this.emitStatus(o);
    }
    const type = o.orderType;
    let price: number | undefined;
    if (type === 'MKT' || type === 'STP') price = buy ? q.ask : q.bid;
    else if (type === 'LMT' || type === 'STP LMT') {
      const lmt = o.lmtPrice ?? 0;
      if (buy && q.ask <= lmt) price = Math.min(lmt, q.ask);
      if (!buy && q.bid >= lmt) price = Math.max(lmt, q.bid);
    }
    if (price !== undefined) this.fill(o, remaining(o), price);
  }

  private fill(o: SimOrder, qty: number, price: number): void {
    if (qty <= 0) return;
    const now = this.clock.now();
    const signed = o.action === 'BUY' ? qty : -qty;
    const commission = commissionFor(o.contract, qty, price);
    const realized = this.accounts.applyFill(o.account, o.contract, signed, price, commission);
    o.avgFillPrice = (o.avgFillPrice * o.filled + price * qty) / (o.filled + qty);
    o.filled += qty;
    o.lastFillPrice = price;
    this.execSeq++;
    const exec: Execution = {
      execId: `${this.execPrefix}.${this.execSeq.toString(16).padStart(2, '0')}.01`,
      orderId: o.orderId,
      clientId: o.clientId,
      permId: o.permId,
      account: o.account,
      contract: o.contract,
      side: o.action === 'BUY' ? 'BOT' : 'SLD',
      shares: qty,
      price,
      cumQty: o.filled,
      avgPrice: o.avgFillPrice,
      time: now,
      exchange: o.contract.secType === 'STK' ? o.contract.primaryExch || 'ISLAND' : o.contract.exchange,
      orderRef: o.orderRef,
      commission,
      realizedPnl: Math.abs(realized + commission) > 1e-9 ? realized : undefined,
    };
    this.executions.push(exec);
    this.saveIds();
    if (remaining(o) <= 0) this.setStatus(o, 'Filled', 'Filled');
    else if (o.status !== 'Submitted') this.setStatus(o, 'Submitted');
    // IB's order after a fill: execDetails, orderStatus, openOrder, commissionReport, then position updates.
    this.emit({ type: 'execution', order: o, exec });
    const silentFill =
      this.quirks.fillWithoutFilledStatus && o.status === 'Filled' && (o.orderType === 'MKT' || o.orderType === 'STP');
    if (!silentFill) this.emitStatus(o);
    this.emit({ type: 'openOrder', order: o });
    this.emit({ type: 'commission', order: o, exec });
    this.emit({ type: 'position', account: o.account, conId: o.contract.conId });
    this.afterFill(o, qty);
  }

  private afterFill(o: SimOrder, qty: number): void {
    // OCA: explicit groups, and the children of one bracket parent (IB links them as one OCA group).
    const siblings = this.open().filter(
      (x) =>
        x !== o &&
        ((o.ocaGroup && x.ocaGroup === o.ocaGroup && x.account === o.account) ||
          (o.parentId && x.parentId === o.parentId && x.clientId === o.clientId)),
    );
    for (const s of siblings) {
      const reduce = o.ocaGroup && s.ocaGroup === o.ocaGroup && (o.ocaType === 2 || o.ocaType === 3);
      if (reduce && s.totalQuantity - qty > s.filled) {
        s.totalQuantity -= qty;
        this.emit({ type: 'openOrder', order: s });
        this.emitStatus(s);
      } else {
        this.cancelOrder(s, 'OCA group');
      }
    }
    if (o.status === 'Filled') {
      for (const child of this.open().filter(
        (x) => x.parentId === o.orderId && x.clientId === o.clientId && x.transmitted,
      )) {
        child.whyHeld = '';
        const status: OrderStatus = this.isStop(child) && !child.triggered ? 'PreSubmitted' : 'Submitted';
        this.setStatus(child, status);
        this.emit({ type: 'openOrder', order: child });
        this.emitStatus(child);
        this.tryMatch(child);
      }
    }
  }

  private cancelOrder(o: SimOrder, reason: string): void {
    this.setStatus(o, 'Cancelled', reason);
    this.emitStatus(o);
    this.emit({ type: 'orderError', order: o, code: 202, text: 'Order Canceled - reason:' });
    // Children die with their parent.
    for (const child of this.open().filter((x) => x.parentId === o.orderId && x.clientId === o.clientId)) {
      this.cancelOrder(child, 'Parent cancelled');
    }
  }

  /** ORDER_STATUS out, twice when duplicate statuses are on (as IB often sends them). */
  private emitStatus(o: SimOrder): void {
    this.emit({ type: 'orderStatus', order: o });
    if (this.quirks.duplicateStatuses) this.emit({ type: 'orderStatus', order: o });
  }

  private setStatus(o: SimOrder, status: OrderStatus, completedReason?: string): void {
    const now = this.clock.now();
    if (o.status !== status || o.history.length === 0) o.history.push({ status, time: now });
    o.status = status;
    if (isDone(o)) {
      o.completedAt = now;
      o.completedReason = completedReason ?? status;
    }
  }
}

/** True when `price` is a whole multiple of `tick` (within floating-point noise). */
export function onTick(price: number, tick: number): boolean {
  const n = price / tick;
  return Math.abs(n - Math.round(n)) < 1e-6 * Math.max(1, Math.abs(n));
}
