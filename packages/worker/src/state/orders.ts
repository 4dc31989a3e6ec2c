import { classifyIbCode } from '../ib/error-codes.js';
import type {
  ContractData,
  CommissionData,
  ExecutionData,
  Fields,
  Fill,
  MirrorEvent,
  OrderEvent,
  OrderRecord,
} from './types.js';

/** Statuses after which IB changes nothing more on the order. */
export const FINAL_STATUSES = new Set(['Filled', 'Cancelled', 'ApiCancelled', 'Inactive']);

/** How many finished orders the mirror keeps by default (older ones are answered from the journal). */
export const DEFAULT_FINISHED_WINDOW = 2000;

/** IB's identity of one order. */
export interface OrderIds {
  orderId: number;
  clientId?: number;
  permId?: number;
}

type OrderMirrorEvent = Extract<
  MirrorEvent,
  { type: 'openOrder' | 'orderStatus' | 'orderError' | 'execution' | 'commission' }
>;

/**
 * Orders with their status history and fills. IB repeats openOrder/orderStatus (3× is normal), so every
 * apply is idempotent: a status enters the history only when it differs from the last one, a fill only
 * once per execId.
 *
 * Evidence: a record the worker registered before sending (`expect`) is a placeholder until IB says
 * something about it (openOrder, orderStatus, an execution): `acknowledged` tells the two apart, and the
 * open list shows acknowledged orders only. Memory: open orders are kept; finished ones in a bounded
 * window (oldest finished dropped first; the journal still has them).
 */
export class OrderStore {
  /** `${clientId}:${orderId}` → the latest record with that id (orders placed through the API have orderId > 0). */
  private readonly byKey = new Map<string, OrderRecord>();
  /** permId → record (IB's own id: unique across clients, and the only id of manual TWS orders). */
  private readonly byPermId = new Map<number, OrderRecord>();
  /** Records that once held a `byKey` slot another order (same clientId and orderId, new permId) took over. */
  private readonly shadowed = new Map<string, OrderRecord[]>();
  /** execId → record, for commission reports that name only the execution. */
  private readonly fillOwner = new Map<string, OrderRecord>();
  /** Finished records in the order they finished; the oldest leave the mirror past `finishedWindow`. */
  private readonly finished = new Set<OrderRecord>();
  /**
   * orderRef → ids of every acknowledged order that carried it (a bracket's legs share one; kept after they leave).
   */
  private readonly byOrderRef = new Map<string, OrderIds[]>();
  private readonly listeners = new Set<(event: OrderEvent, order: OrderRecord) => void>();
  private epoch = 0;
  private readonly seenIn = new WeakMap<OrderRecord, number>();

  constructor(
    /** The clientId of this worker: `get(orderId)` prefers its own orders. Moves with a clientId lease. */
    private ownClientId: number,
    private readonly now: () => Date = () => new Date(),
    private readonly finishedWindow = DEFAULT_FINISHED_WINDOW,
  ) {}

  /** Subscribes to order events (status changes, fills, commissions, errors); returns the unsubscribe. */
  onEvent(listener: (event: OrderEvent, order: OrderRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The worker now connects with another clientId (a spare after 326): new orders are keyed under it. */
  useClientId(clientId: number): void {
    this.ownClientId = clientId;
  }

  get clientId(): number {
    return this.ownClientId;
  }

  get(orderId: number, clientId?: number): OrderRecord | undefined {
    const own = this.byKey.get(`${clientId ?? this.ownClientId}:${orderId}`);
    if (own !== undefined || clientId !== undefined) return own;
    for (const r of this.byKey.values()) if (r.orderId === orderId) return r;
    return undefined;
  }

  /** Every record with `orderId` among `clientIds` (more than one: the id was reused by a fresh IB sequence). */
  candidates(orderId: number, clientIds: readonly number[]): OrderRecord[] {
    const out: OrderRecord[] = [];
    for (const cid of new Set(clientIds)) {
      const key = `${cid}:${orderId}`;
      const r = this.byKey.get(key);
      if (r !== undefined) out.push(r);
      for (const s of this.shadowed.get(key) ?? []) if (this.isKept(s)) out.push(s);
    }
    return out;
  }

  getByPermId(permId: number): OrderRecord | undefined {
    return this.byPermId.get(permId);
  }

  /** The ids of the acknowledged orders that carried `orderRef`, by orderId (also after they left the mirror). */
  findByOrderRef(orderRef: string): OrderIds[] | undefined {
    return this.byOrderRef
      .get(orderRef)
      ?.slice()
      .sort((a, b) => a.orderId - b.orderId);
  }

  /** Acknowledged records (placeholders are not IB's orders), by orderId then permId. */
  all(): OrderRecord[] {
    const seen = new Set<OrderRecord>([...this.byKey.values(), ...this.byPermId.values()]);
    const byIds = (a: OrderRecord, b: OrderRecord) => a.orderId - b.orderId || (a.permId ?? 0) - (b.permId ?? 0);
    return [...seen].filter((r) => r.acknowledged).sort(byIds);
  }

  open(): OrderRecord[] {
    return this.all().filter((r) => !FINAL_STATUSES.has(r.status));
  }

  /** How many records the mirror holds (open, finished window, placeholders): for the memory bound. */
  get size(): number {
    return new Set<OrderRecord>([...this.byKey.values(), ...this.byPermId.values()]).size;
  }

  /**
   * Registers an order the worker is about to send, so its events and errors have a record to land on
   * even before IB's first answer. It is a placeholder (`acknowledged: false`) until IB speaks.
   */
  expect(orderId: number, contract: ContractData, order: Fields): OrderRecord {
    const key = `${this.ownClientId}:${orderId}`;
    const old = this.byKey.get(key);
    if (old !== undefined && old.acknowledged) this.shadow(key, old);
    const r = this.newRecord(orderId, this.ownClientId);
    r.contract = { ...contract };
    r.order = { ...order };
    r.remaining = num(order.totalQuantity) ?? 0;
    if (num(order.parentId)) r.parentId = num(order.parentId);
    this.byKey.set(key, r);
    this.seenIn.set(r, this.epoch);
    return r;
  }

  /** Removes a placeholder IB never acknowledged (it is no order): the open list must not show it. */
  forget(r: OrderRecord): void {
    if (r.acknowledged) return;
    const key = `${r.clientId}:${r.orderId}`;
    if (this.byKey.get(key) === r) this.byKey.delete(key);
    if (r.permId !== undefined && this.byPermId.get(r.permId) === r) this.byPermId.delete(r.permId);
  }

  /** Placeholders registered before the current epoch (an earlier session) that IB never acknowledged. */
  stalePlaceholders(): OrderRecord[] {
    const stale = (r: OrderRecord) => (this.seenIn.get(r) ?? 0) < this.epoch;
    return [...this.byKey.values()].filter((r) => !r.acknowledged && !FINAL_STATUSES.has(r.status) && stale(r));
  }

  /**
   * Starts a re-sync: records IB reports from now on are marked with the new epoch. After a complete
   * re-sync, `notSeenSince(epoch)` lists the open orders IB no longer reports (see the reconciler).
   */
  beginEpoch(): number {
    return ++this.epoch;
  }

  notSeenSince(epoch: number): OrderRecord[] {
    return this.open().filter((r) => (this.seenIn.get(r) ?? 0) < epoch);
  }

  /** Moves an order to a final status IB implied but did not send (a refusal before any status, an order gone). */
  finish(r: OrderRecord, status: string, reason?: { code: number; message: string }): void {
    if (reason !== undefined) {
      const error = { ...reason, at: this.iso() };
      r.errors.push(error);
    }
    const s = { status, filled: r.filled, remaining: r.remaining, avgFillPrice: r.avgFillPrice };
    if (this.setStatus(r, s)) this.emit('status', r);
  }

  apply(event: OrderMirrorEvent): void {
    switch (event.type) {
      case 'openOrder': {
        const clientId = num(event.order.clientId);
        const permId = num(event.order.permId);
        const r = this.locate(event.orderId, clientId, permId);
        r.contract = { ...event.contract };
        r.order = { ...event.order };
        r.orderState = { ...event.orderState };
        if (r.parentId === undefined && num(event.order.parentId)) r.parentId = num(event.order.parentId);
        const first = !r.acknowledged;
        this.acknowledge(r);
        const status = typeof event.orderState.status === 'string' ? event.orderState.status : undefined;
        // openOrder carries no fill counts: it only moves the status, counts come from orderStatus.
        const total = num(event.order.totalQuantity) ?? 0;
        const remaining = r.history.length === 0 ? Math.max(0, total - r.filled) : r.remaining;
        const changed =
          status !== undefined &&
          (r.history.length === 0 || status !== r.status) &&
          this.setStatus(r, { status, filled: r.filled, remaining, avgFillPrice: r.avgFillPrice });
        this.emit(changed || first ? 'status' : 'open', r);
        return;
      }
      case 'orderStatus': {
        const r = this.locate(event.orderId, event.clientId, event.permId);
        if (event.parentId) r.parentId = event.parentId;
        if (event.lastFillPrice !== undefined) r.lastFillPrice = event.lastFillPrice;
        if (event.whyHeld) r.whyHeld = event.whyHeld;
        const first = !r.acknowledged;
        this.acknowledge(r);
        if (this.setStatus(r, event) || first) this.emit('status', r);
        return;
      }
      case 'orderError': {
        const r = this.byKey.get(`${this.ownClientId}:${event.orderId}`);
        if (r === undefined) return;
        const error = { code: event.code, message: event.message, at: this.iso() };
        r.errors.push(error);
        r.updatedAt = error.at;
        this.emit('error', r, { error: { code: event.code, message: event.message } });
        // IB refused an order it never acknowledged (unknown contract, invalid account …): it will send no
        // status, so the record ends here with IB's refusal as its reason.
        if (!r.acknowledged && r.history.length === 0 && classifyIbCode(event.code) === 'request') {
          const ended = { status: 'Inactive', filled: 0, remaining: r.remaining, avgFillPrice: 0 };
          if (this.setStatus(r, ended)) this.emit('status', r);
        }
        return;
      }
      case 'execution':
        this.applyExecution(event.contract, event.execution);
        return;
      case 'commission':
        this.applyCommission(event.report);
        return;
    }
  }

  private applyExecution(contract: ContractData, ex: ExecutionData): void {
    const r = this.locate(num(ex.orderId) ?? 0, num(ex.clientId), num(ex.permId));
    if (Object.keys(r.contract).length === 0) r.contract = { ...contract };
    const ref = ex.orderRef;
    if (r.order.orderRef === undefined && typeof ref === 'string' && ref !== '') r.order.orderRef = ref;
    this.acknowledge(r);
    if (r.fills.some((f) => f.execId === ex.execId)) return;
    const fill: Fill = {
      execId: ex.execId,
      time: str(ex.time),
      side: str(ex.side),
      shares: num(ex.shares),
      price: num(ex.price),
      cumQty: num(ex.cumQty),
      avgPrice: num(ex.avgPrice),
      exchange: str(ex.exchange),
    };
    r.fills.push(fill);
    this.fillOwner.set(ex.execId, r);
    r.updatedAt = this.iso();
    this.emit('fill', r, { fill });
    // IB documents that a fill may come without an orderStatus (market orders in particular): the
    // execution's cumulative quantity is IB's own evidence of how much is filled.
    const total = num(r.order.totalQuantity);
    if (fill.cumQty !== undefined && fill.cumQty > r.filled && total !== undefined && total > 0) {
      const done = fill.cumQty >= total;
      const status = done ? 'Filled' : r.status === 'PendingSubmit' ? 'Submitted' : r.status;
      const avgFillPrice = fill.avgPrice ?? r.avgFillPrice;
      const s = { status, filled: fill.cumQty, remaining: Math.max(0, total - fill.cumQty), avgFillPrice };
      if (this.setStatus(r, s)) this.emit('status', r);
    }
  }

  private applyCommission(report: CommissionData): void {
    const r = this.fillOwner.get(report.execId);
    const fill = r?.fills.find((f) => f.execId === report.execId);
    if (r === undefined || fill === undefined || fill.commission !== undefined) return;
    fill.commission = report.commission;
    fill.commissionCurrency = report.currency;
    if (report.realizedPNL !== undefined) fill.realizedPNL = report.realizedPNL;
    this.emit('commission', r, { fill });
  }

  private setStatus(
    r: OrderRecord,
    s: { status: string; filled: number; remaining: number; avgFillPrice: number },
  ): boolean {
    const last = r.history[r.history.length - 1];
    if (last !== undefined && last.status === s.status && last.filled === s.filled && last.remaining === s.remaining)
      return false;
    // A late duplicate must not move an order backwards: filled only grows, and nothing follows a final
    // status except another final one (IB may resend Submitted after Filled).
    if (last !== undefined && s.filled < last.filled) return false;
    if (last !== undefined && FINAL_STATUSES.has(last.status) && !FINAL_STATUSES.has(s.status)) return false;
    // Filled is the end: a trailing Cancelled (IB cancels the OCA siblings, not the filled order) changes nothing.
    if (last !== undefined && last.status === 'Filled' && s.status !== 'Filled') return false;
    const at = this.iso();
    r.status = s.status;
    r.filled = s.filled;
    r.remaining = s.remaining;
    r.avgFillPrice = s.avgFillPrice;
    r.history.push({ status: s.status, filled: s.filled, remaining: s.remaining, avgFillPrice: s.avgFillPrice, at });
    r.updatedAt = at;
    if (FINAL_STATUSES.has(s.status)) this.retire(r);
    return true;
  }

  private acknowledge(r: OrderRecord): void {
    this.seenIn.set(r, this.epoch);
    r.ibMessages++;
    if (r.acknowledged) return;
    r.acknowledged = true;
    const ref = r.order.orderRef;
    if (typeof ref === 'string' && ref !== '') this.indexRef(r, ref);
  }

  private indexRef(r: OrderRecord, ref: string): void {
    const ids: OrderIds = { orderId: r.orderId };
    if (r.clientId !== undefined) ids.clientId = r.clientId;
    if (r.permId) ids.permId = r.permId;
    const same = (x: OrderIds) =>
      ids.permId && x.permId ? x.permId === ids.permId : x.orderId === ids.orderId && x.clientId === ids.clientId;
    const list = (this.byOrderRef.get(ref) ?? []).filter((x) => !same(x));
    list.push(ids);
    this.byOrderRef.set(ref, list);
  }

  /** A finished record enters the window; the oldest finished ones leave the mirror. */
  private retire(r: OrderRecord): void {
    this.finished.delete(r);
    this.finished.add(r);
    while (this.finished.size > this.finishedWindow) {
      const oldest = this.finished.values().next().value as OrderRecord;
      this.finished.delete(oldest);
      this.drop(oldest);
    }
  }

  private drop(r: OrderRecord): void {
    const key = `${r.clientId}:${r.orderId}`;
    if (this.byKey.get(key) === r) this.byKey.delete(key);
    const sh = this.shadowed.get(key);
    if (sh !== undefined) {
      const rest = sh.filter((x) => x !== r);
      if (rest.length === 0) this.shadowed.delete(key);
      else this.shadowed.set(key, rest);
    }
    if (r.permId !== undefined && this.byPermId.get(r.permId) === r) this.byPermId.delete(r.permId);
    for (const f of r.fills) if (this.fillOwner.get(f.execId) === r) this.fillOwner.delete(f.execId);
  }

  private isKept(r: OrderRecord): boolean {
    const indexed = r.permId !== undefined && this.byPermId.get(r.permId) === r;
    return indexed || !FINAL_STATUSES.has(r.status) || this.finished.has(r);
  }

  private shadow(key: string, old: OrderRecord): void {
    const list = this.shadowed.get(key) ?? [];
    list.push(old);
    this.shadowed.set(key, list);
  }

  /**
   * Finds the record by permId, then by (clientId, orderId); creates it otherwise. An order with a
   * known (clientId, orderId) but a different permId is another order (IB restarted its id sequence):
   * it gets its own record and the old one is kept apart, never merged.
   */
  private locate(orderId: number, clientId: number | undefined, permId: number | undefined): OrderRecord {
    const cid = clientId ?? this.ownClientId;
    const key = `${cid}:${orderId}`;
    let r = permId ? this.byPermId.get(permId) : undefined;
    // A permId is IB's unique id; one that comes back with another client's or order's id is not that order.
    const other = r !== undefined && orderId !== 0 && r.orderId !== 0 && (r.orderId !== orderId || r.clientId !== cid);
    if (other) r = undefined;
    if (r === undefined && orderId !== 0) {
      const byId = this.byKey.get(key);
      if (byId !== undefined && !(permId && byId.permId && byId.permId !== permId)) r = byId;
      else if (byId !== undefined) this.shadow(key, byId);
    }
    if (r === undefined) {
      r = this.newRecord(orderId, cid);
      if (orderId !== 0) this.byKey.set(key, r);
    }
    if (permId && r.permId !== permId) {
      r.permId = permId;
      this.byPermId.set(permId, r);
      const ref = r.order.orderRef;
      if (r.acknowledged && typeof ref === 'string' && ref !== '') this.indexRef(r, ref);
    }
    return r;
  }

  private newRecord(orderId: number, clientId: number): OrderRecord {
    return {
      orderId,
      clientId,
      acknowledged: false,
      ibMessages: 0,
      contract: {},
      order: {},
      status: 'PendingSubmit',
      filled: 0,
      remaining: 0,
      avgFillPrice: 0,
      history: [],
      fills: [],
      errors: [],
      updatedAt: this.iso(),
    };
  }

  private emit(type: OrderEvent['type'], r: OrderRecord, extra: Partial<OrderEvent> = {}): void {
    const event: OrderEvent = {
      type,
      orderId: r.orderId,
      permId: r.permId,
      clientId: r.clientId,
      status: r.status,
      at: this.iso(),
      ...extra,
    };
    for (const l of this.listeners) l(event, r);
  }

  private iso(): string {
    return this.now().toISOString();
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
