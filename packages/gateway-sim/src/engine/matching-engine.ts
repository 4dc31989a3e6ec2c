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

const SUPPORTED_TYPES = new Set(['MKT', 'LMT', 'STP', 'STP LMT']);

/**
 * The simulated broker's order book: order state machine, fills, OCA groups, brackets with `transmit`
 * semantics. Every observable change goes out as a BrokerEvent in IB's order; the engine is synchronous and
 * deterministic (prices come from the seeded Market, time from the injected Clock).
 */
export class MatchingEngine {
  /** `${clientId}:${orderId}` → order */
  private readonly orders = new Map<string, SimOrder>();
  private readonly executions: Execution[] = [];
  /** clientId → next order id to hand out */
  private readonly nextIds = new Map<number, number>();
  private nextPermId: number;
  private execSeq = 0;
  private fillNextSpec: FillSpec | undefined;
  private rejectNextSpec: RejectSpec | undefined;
  private readonly execPrefix: string;

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

  // ── queries ──────────────────────────────────────────────────────────────────────────────────────

  all(): SimOrder[] {
    return [...this.orders.values()];
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
    // clientId 0 (the master client) may address any client's order by id.
    const matches = this.all().filter((o) => o.orderId === orderId);
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

  // ── commands ─────────────────────────────────────────────────────────────────────────────────────

  place(clientId: number, req: OrderRequest, contract: ContractDef): PlaceResult {
    const existing = this.find(clientId, req.orderId);
    if (existing) return this.modify(existing, req);
    const invalid = this.validate(req);
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

    if (this.rejectNextSpec) {
      const r = this.rejectNextSpec;
      this.rejectNextSpec = undefined;
      this.emit({ type: 'orderError', order, code: r.code ?? 201, text: r.text ?? 'Order rejected - reason:Simulated rejection' });
      this.setStatus(order, r.status ?? 'Cancelled', 'Rejected');
      this.emit({ type: 'openOrder', order });
      this.emit({ type: 'orderStatus', order });
      return { ok: true, order };
    }
    if (!req.transmit) {
      // Held in the "not transmitted" state until a later order of its group is sent with transmit=true.
      this.setStatus(order, 'PendingSubmit');
      this.emit({ type: 'openOrder', order });
      this.emit({ type: 'orderStatus', order });
      return { ok: true, order };
    }
    for (const o of this.group(order)) this.transmit(o);
    return { ok: true, order };
  }

  cancel(clientId: number, orderId: number): { ok: true } | { ok: false; code: number; text: string } {
    const o = this.find(clientId, orderId);
    if (!o) return { ok: false, code: 10147, text: `OrderId ${orderId} that needs to be cancelled is not found.` };
    if (isDone(o)) {
      return { ok: false, code: 10148, text: `OrderId ${orderId} that needs to be cancelled cannot be cancelled, state: ${o.status}.` };
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
    this.fill(o, Math.min(quantity ?? remaining(o), remaining(o)), px);
    return true;
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────────

  /** IB's checks a new order (or a what-if) must pass; the error to send when it does not. */
  validate(req: OrderRequest): { ok: false; code: number; text: string } | undefined {
    const action = req.action.toUpperCase();
    const type = req.orderType.toUpperCase();
    if (action !== 'BUY' && action !== 'SELL') return { ok: false, code: 201, text: `Order rejected - reason:Invalid action ${req.action}` };
    if (!(req.totalQuantity > 0)) return { ok: false, code: 434, text: 'The order size cannot be zero.' };
    if (!SUPPORTED_TYPES.has(type)) return { ok: false, code: 387, text: 'Unsupported order type for this exchange and security type.' };
    if ((type === 'LMT' || type === 'STP LMT') && req.lmtPrice === undefined) {
      return { ok: false, code: 201, text: 'Order rejected - reason:Missing limit price' };
    }
    if ((type === 'STP' || type === 'STP LMT') && req.auxPrice === undefined) {
      return { ok: false, code: 201, text: 'Order rejected - reason:Missing stop price' };
    }
    if (req.account && !this.accounts.get(req.account)) {
      return { ok: false, code: 201, text: `Order rejected - reason:Invalid account code ${req.account}` };
    }
    return undefined;
  }

  private modify(o: SimOrder, req: OrderRequest): PlaceResult {
    if (o.status === 'Filled') return { ok: false, code: 104, text: "Can't modify a filled order." };
    if (isDone(o)) return { ok: false, code: 103, text: 'Duplicate order id' };
    const invalid = this.validate(req);
    if (invalid) return invalid;
    if (req.totalQuantity < o.filled) return { ok: false, code: 201, text: 'Order rejected - reason:Quantity below filled quantity' };
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
    this.emit({ type: 'orderStatus', order: o });
    this.tryMatch(o);
    return { ok: true, order: o };
  }

  /** The bracket an order belongs to: its parent and all of the parent's children. */
  private group(o: SimOrder): SimOrder[] {
    const rootId = o.parentId || o.orderId;
    const out = this.all().filter(
      (x) => x.clientId === o.clientId && !isDone(x) && !x.transmitted && (x.orderId === rootId || x.parentId === rootId),
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
    this.emit({ type: 'orderStatus', order: o });
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
    const px = spec.price ?? (o.action === 'BUY' ? q?.ask : q?.bid) ?? o.contract.basePrice;
    const parts = spec.quantities?.length ? spec.quantities : [remaining(o)];
    for (const part of parts) {
      const qty = Math.min(part, remaining(o));
      if (qty <= 0 || isDone(o)) break;
      this.fill(o, qty, px);
    }
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
      this.emit({ type: 'orderStatus', order: o });
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
    if (remaining(o) <= 0) this.setStatus(o, 'Filled', 'Filled');
    else if (o.status !== 'Submitted') this.setStatus(o, 'Submitted');
    // IB's order after a fill: execDetails, orderStatus, openOrder, commissionReport, then position updates.
    this.emit({ type: 'execution', order: o, exec });
    this.emit({ type: 'orderStatus', order: o });
    this.emit({ type: 'openOrder', order: o });
    this.emit({ type: 'commission', order: o, exec });
    this.emit({ type: 'position', account: o.account, conId: o.contract.conId });
    this.afterFill(o, qty);
  }

  private afterFill(o: SimOrder, qty: number): void {
    // OCA: explicit groups, and the children of one bracket parent (IB links them as one OCA group).
    const siblings = this.open().filter(
      (x) => x !== o && ((o.ocaGroup && x.ocaGroup === o.ocaGroup && x.account === o.account) ||
        (o.parentId && x.parentId === o.parentId && x.clientId === o.clientId)),
    );
    for (const s of siblings) {
      const reduce = o.ocaGroup && s.ocaGroup === o.ocaGroup && (o.ocaType === 2 || o.ocaType === 3);
      if (reduce && s.totalQuantity - qty > s.filled) {
        s.totalQuantity -= qty;
        this.emit({ type: 'openOrder', order: s });
        this.emit({ type: 'orderStatus', order: s });
      } else {
        this.cancelOrder(s, 'OCA group');
      }
    }
    if (o.status === 'Filled') {
      for (const child of this.open().filter((x) => x.parentId === o.orderId && x.clientId === o.clientId && x.transmitted)) {
        child.whyHeld = '';
        const status: OrderStatus = this.isStop(child) && !child.triggered ? 'PreSubmitted' : 'Submitted';
        this.setStatus(child, status);
        this.emit({ type: 'openOrder', order: child });
        this.emit({ type: 'orderStatus', order: child });
        this.tryMatch(child);
      }
    }
  }

  private cancelOrder(o: SimOrder, reason: string): void {
    this.setStatus(o, 'Cancelled', reason);
    this.emit({ type: 'orderStatus', order: o });
    this.emit({ type: 'orderError', order: o, code: 202, text: 'Order Canceled - reason:' });
    // Children die with their parent.
    for (const child of this.open().filter((x) => x.parentId === o.orderId && x.clientId === o.clientId)) {
      this.cancelOrder(child, 'Parent cancelled');
    }
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
