import type { ContractData, CommissionData, ExecutionData, Fields, Fill, MirrorEvent, OrderEvent, OrderRecord } from './types.js';

/** Statuses after which IB changes nothing more on the order. */
export const FINAL_STATUSES = new Set(['Filled', 'Cancelled', 'ApiCancelled', 'Inactive']);

type OrderMirrorEvent = Extract<MirrorEvent, { type: 'openOrder' | 'orderStatus' | 'orderError' | 'execution' | 'commission' }>;

/**
 * Orders with their status history and fills. IB repeats openOrder/orderStatus (3× is normal), so every
 * apply is idempotent: a status enters the history only when it differs from the last one, a fill only
 * once per execId.
 */
export class OrderStore {
  /** `${clientId}:${orderId}` → record (orders placed through the API have orderId > 0). */
  private readonly byKey = new Map<string, OrderRecord>();
  /** permId → record (IB's own id: unique across clients, and the only id of manual TWS orders). */
  private readonly byPermId = new Map<number, OrderRecord>();
  /** execId → orderId key, for commission reports that name only the execution. */
  private readonly fillOwner = new Map<string, OrderRecord>();
  private readonly listeners = new Set<(event: OrderEvent, order: OrderRecord) => void>();

  constructor(
    /** The clientId of this worker: `get(orderId)` prefers its own orders. Moves with a clientId lease. */
    private ownClientId: number,
    private readonly now: () => Date = () => new Date(),
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

  get(orderId: number, clientId?: number): OrderRecord | undefined {
    const own = this.byKey.get(`${clientId ?? this.ownClientId}:${orderId}`);
    if (own !== undefined || clientId !== undefined) return own;
    for (const r of this.byKey.values()) if (r.orderId === orderId) return r;
    return undefined;
  }

  getByPermId(permId: number): OrderRecord | undefined {
    return this.byPermId.get(permId);
  }

  all(): OrderRecord[] {
    const seen = new Set<OrderRecord>([...this.byKey.values(), ...this.byPermId.values()]);
    return [...seen].sort((a, b) => a.orderId - b.orderId || (a.permId ?? 0) - (b.permId ?? 0));
  }

  open(): OrderRecord[] {
    return this.all().filter((r) => !FINAL_STATUSES.has(r.status));
  }

  /**
   * Registers an order the worker is about to send, so its events and errors have a record to land on
   * even before IB's first answer.
   */
  expect(orderId: number, contract: ContractData, order: Fields): OrderRecord {
    const r = this.locate(orderId, this.ownClientId, undefined, true)!;
    r.contract = { ...contract };
    r.order = { ...r.order, ...order };
    return r;
  }

  apply(event: OrderMirrorEvent): void {
    switch (event.type) {
      case 'openOrder': {
        const clientId = num(event.order.clientId);
        const permId = num(event.order.permId);
        const r = this.locate(event.orderId, clientId, permId, true)!;
        r.contract = { ...event.contract };
        r.order = { ...event.order };
        r.orderState = { ...event.orderState };
        if (r.parentId === undefined && num(event.order.parentId)) r.parentId = num(event.order.parentId);
        const status = typeof event.orderState.status === 'string' ? event.orderState.status : undefined;
        // openOrder carries no fill counts: it only moves the status, counts come from orderStatus.
        const first = r.history.length === 0;
        const remaining = first ? Math.max(0, (num(event.order.totalQuantity) ?? 0) - r.filled) : r.remaining;
        const changed = status !== undefined && (first || status !== r.status) && this.setStatus(r, { status, filled: r.filled, remaining, avgFillPrice: r.avgFillPrice });
        this.emit(changed ? 'status' : 'open', r);
        return;
      }
      case 'orderStatus': {
        const r = this.locate(event.orderId, event.clientId, event.permId, true)!;
        if (event.parentId) r.parentId = event.parentId;
        if (event.lastFillPrice !== undefined) r.lastFillPrice = event.lastFillPrice;
        if (event.whyHeld) r.whyHeld = event.whyHeld;
        if (this.setStatus(r, event)) this.emit('status', r);
        return;
      }
      case 'orderError': {
        const r = this.get(event.orderId, this.ownClientId);
        if (r === undefined) return;
        const error = { code: event.code, message: event.message, at: this.iso() };
        r.errors.push(error);
        r.updatedAt = error.at;
        this.emit('error', r, { error: { code: event.code, message: event.message } });
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
    const r = this.locate(num(ex.orderId) ?? 0, num(ex.clientId), num(ex.permId), true)!;
    if (Object.keys(r.contract).length === 0) r.contract = { ...contract };
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

  private setStatus(r: OrderRecord, s: { status: string; filled: number; remaining: number; avgFillPrice: number }): boolean {
    const last = r.history[r.history.length - 1];
    if (last !== undefined && last.status === s.status && last.filled === s.filled && last.remaining === s.remaining) return false;
    // A late duplicate must not move an order backwards: filled only grows, and nothing follows a final
    // status except another final one (IB may resend Submitted after Filled).
    if (last !== undefined && s.filled < last.filled) return false;
    if (last !== undefined && FINAL_STATUSES.has(last.status) && !FINAL_STATUSES.has(s.status)) return false;
    const at = this.iso();
    r.status = s.status;
    r.filled = s.filled;
    r.remaining = s.remaining;
    r.avgFillPrice = s.avgFillPrice;
    r.history.push({ status: s.status, filled: s.filled, remaining: s.remaining, avgFillPrice: s.avgFillPrice, at });
    r.updatedAt = at;
    return true;
  }

  /** Finds the record by permId, then by (clientId, orderId); creates it when asked. */
  private locate(orderId: number, clientId: number | undefined, permId: number | undefined, create: boolean): OrderRecord | undefined {
    const cid = clientId ?? this.ownClientId;
    const key = `${cid}:${orderId}`;
    let r = (permId ? this.byPermId.get(permId) : undefined) ?? (orderId > 0 ? this.byKey.get(key) : undefined);
    if (r === undefined) {
      if (!create) return undefined;
      r = {
        orderId,
        clientId: cid,
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
    if (permId && r.permId !== permId) {
      r.permId = permId;
      this.byPermId.set(permId, r);
    }
    if (orderId > 0 && !this.byKey.has(key)) this.byKey.set(key, r);
    return r;
  }

  private emit(type: OrderEvent['type'], r: OrderRecord, extra: Partial<OrderEvent> = {}): void {
    const event: OrderEvent = { type, orderId: r.orderId, permId: r.permId, clientId: r.clientId, status: r.status, at: this.iso(), ...extra };
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
