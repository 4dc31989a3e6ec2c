import type { OrderEvent, OrderEventInput, OrderJournal } from './order-journal.js';

/**
 * What the journal knows about one order, folded from its events. Orders are identified by permId when IB has
 * given one (unique across clients and sessions), else by clientId:orderId (orderIds are per client).
 */
export interface OrderView {
  orderId?: number;
  permId?: number;
  clientId?: number;
  orderRef?: string;
  /** IB's last status name seen in the journal. */
  status?: string;
  lastCursor: number;
}

/** An order as IB reports it after a (re)connect: openOrder/orderStatus or completedOrder. */
export interface IbOrderSnapshot {
  orderId: number;
  permId?: number;
  clientId?: number;
  orderRef?: string;
  status: string;
  filled?: number;
  remaining?: number;
  avgFillPrice?: number;
}

/** An execution from reqExecutions (execDetails), with its commission when the report arrived. */
export interface IbExecutionSnapshot {
  execId: string;
  orderId: number;
  permId?: number;
  clientId?: number;
  orderRef?: string;
  /** Extra facts stored in the event's `data` (time, side, shares, price, symbol …). */
  data?: Record<string, unknown>;
  commission?: { commission: number; currency?: string; realizedPNL?: number };
}

/** The journal folded into what reconciliation compares against. Feed it every event, live or read back. */
export class OrderProjection {
  // permId → order, and "clientId:orderId" → the same order object
  readonly #byPermId = new Map<number, OrderView>();
  readonly #byLocalId = new Map<string, OrderView>();
  // execIds with a journalled fill / commission
  readonly #fills = new Set<string>();
  readonly #commissions = new Set<string>();
  lastCursor = 0;

  apply(event: OrderEvent): void {
    this.lastCursor = Math.max(this.lastCursor, event.cursor);
    if (event.type === 'fill' && event.execId !== undefined) this.#fills.add(event.execId);
    if (event.type === 'commission' && event.execId !== undefined) this.#commissions.add(event.execId);
    if (event.orderId === undefined && event.permId === undefined) return;
    const view = this.#find(event) ?? { lastCursor: event.cursor };
    if (event.orderId !== undefined) view.orderId = event.orderId;
    if (event.permId !== undefined && event.permId !== 0) view.permId = event.permId;
    if (event.clientId !== undefined) view.clientId = event.clientId;
    if (event.orderRef !== undefined) view.orderRef = event.orderRef;
    if (event.type === 'status' && event.status !== undefined) view.status = event.status;
    if (event.type === 'cancelled') view.status = 'Cancelled';
    view.lastCursor = event.cursor;
    this.#index(view);
  }

  get(ids: { orderId?: number; permId?: number; clientId?: number }): OrderView | undefined {
    const view = this.#find(ids);
    return view ? { ...view } : undefined;
  }

  /** The order stamped with `orderRef` (e.g. {@link orderRefForKey}), for unknown-outcome idempotency keys. */
  byOrderRef(orderRef: string): OrderView | undefined {
    for (const view of new Set([...this.#byLocalId.values(), ...this.#byPermId.values()])) {
      if (view.orderRef === orderRef) return { ...view };
    }
    return undefined;
  }

  hasFill(execId: string): boolean {
    return this.#fills.has(execId);
  }

  hasCommission(execId: string): boolean {
    return this.#commissions.has(execId);
  }

  #find(ids: { orderId?: number; permId?: number; clientId?: number }): OrderView | undefined {
    if (ids.permId !== undefined && ids.permId !== 0) {
      const byPerm = this.#byPermId.get(ids.permId);
      if (byPerm) return byPerm;
    }
    return ids.orderId === undefined ? undefined : this.#byLocalId.get(localId(ids.clientId, ids.orderId));
  }

  #index(view: OrderView): void {
    if (view.permId !== undefined) this.#byPermId.set(view.permId, view);
    if (view.orderId !== undefined) this.#byLocalId.set(localId(view.clientId, view.orderId), view);
  }
}

function localId(clientId: number | undefined, orderId: number): string {
  return `${clientId ?? 0}:${orderId}`;
}

/** Reads the whole journal into a projection (at start-up; afterwards keep it current with `subscribe`). */
export async function projectJournal(journal: Pick<OrderJournal, 'read'>, pageSize = 5000): Promise<OrderProjection> {
  const projection = new OrderProjection();
  for (;;) {
    const page = await journal.read({ since: projection.lastCursor, limit: pageSize });
    if (page.length === 0) return projection;
    for (const event of page) projection.apply(event);
  }
}

/**
 * The events the journal is missing compared with what IB reports after a (re)connect, all marked
 * `reconciled: true`: a fill for every execution whose execId was never journalled, a commission for every
 * commission report likewise, then a status event for every order whose status differs from (or is absent in)
 * the journal. Fills come first so a reader never sees "Filled" before the fills that explain it. Pure: the
 * caller appends the result to the journal (which, through the projection, makes a second run return nothing).
 */
export function reconcileOrders(
  projection: OrderProjection,
  ib: { orders: readonly IbOrderSnapshot[]; executions: readonly IbExecutionSnapshot[] },
): OrderEventInput[] {
  const fills: OrderEventInput[] = [];
  const commissions: OrderEventInput[] = [];
  const seenExec = new Set<string>();
  for (const exec of ib.executions) {
    if (seenExec.has(exec.execId)) continue;
    seenExec.add(exec.execId);
    const ids = pickIds(exec);
    if (!projection.hasFill(exec.execId))
      fills.push({
        type: 'fill',
        ...ids,
        execId: exec.execId,
        reconciled: true,
        ...(exec.data ? { data: exec.data } : {}),
      });
    if (exec.commission && !projection.hasCommission(exec.execId)) {
      commissions.push({
        type: 'commission',
        ...ids,
        execId: exec.execId,
        reconciled: true,
        data: { ...exec.commission },
      });
    }
  }
  const statuses: OrderEventInput[] = [];
  for (const order of ib.orders) {
    const known = projection.get(order);
    if (known?.status === order.status) continue;
    const data: Record<string, unknown> = {};
    for (const k of ['filled', 'remaining', 'avgFillPrice'] as const) if (order[k] !== undefined) data[k] = order[k];
    if (known?.status !== undefined) data.previousStatus = known.status;
    statuses.push({ type: 'status', ...pickIds(order), status: order.status, reconciled: true, data });
  }
  return [...fills, ...commissions, ...statuses];
}

function pickIds(o: {
  orderId: number;
  permId?: number;
  clientId?: number;
  orderRef?: string;
}): Partial<OrderEventInput> {
  const ids: Partial<OrderEventInput> = { orderId: o.orderId };
  if (o.permId !== undefined && o.permId !== 0) ids.permId = o.permId;
  if (o.clientId !== undefined) ids.clientId = o.clientId;
  if (o.orderRef !== undefined && o.orderRef !== '') ids.orderRef = o.orderRef;
  return ids;
}
