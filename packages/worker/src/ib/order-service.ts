import type { Contract, Order } from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import { DeadlineExceededError, IbConnectionLostError, OrderNotFoundError, OrderNotModifiableError, OrderRejectedError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import { FINAL_STATUSES } from '../state/orders.js';
import type { ContractData, Fields, OrderEvent, OrderRecord } from '../state/types.js';
import type { Deadline } from './deadline.js';
import { ibErrorToApiError, ORDER_REJECT_CODES } from './error-codes.js';
import type { OrderIds } from './order-ids.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

export interface OrderLeg {
  contract: ContractData;
  order: Fields;
}

/** `submitted`: first of PreSubmitted/Submitted/Filled/Cancelled/Inactive; `filled`: Filled (or final). */
export type WaitFor = 'submitted' | 'filled';

/** One order operation about to be sent to IB. */
export interface OrderIntent {
  action: 'place' | 'modify' | 'cancel';
  orderId: number;
  contract?: ContractData;
  order?: Fields;
}

/**
 * Extension points of the order path. `beforeSend` runs after order ids are allocated and before any
 * byte goes to IB: the place to record the intent durably (idempotency journal) or refuse it (policy).
 * It may set `order.orderRef` (e.g. to carry an idempotency key). Throwing aborts the operation.
 */
export interface OrderHooks {
  beforeSend?(intents: OrderIntent[]): Promise<void> | void;
  /** Runs right after one intent's message was handed to IB (the journal's `sent`). */
  afterSend?(intent: OrderIntent): void;
}

const ACKED = new Set(['PreSubmitted', 'Submitted', 'Filled', 'Cancelled', 'ApiCancelled', 'Inactive']);
/** An error may trail a Cancelled/Inactive status by a message or two; this long we wait for it. */
const REJECT_GRACE_MS = 50;

/** Contract fields sent again on a modify (what IB needs to identify the instrument). */
const CONTRACT_KEYS = ['conId', 'symbol', 'secType', 'lastTradeDateOrContractMonth', 'strike', 'right', 'multiplier', 'exchange', 'primaryExch', 'currency', 'localSymbol', 'tradingClass'];
/** Order fields carried over from the live order on a modify. */
const ORDER_KEYS = [
  'action', 'totalQuantity', 'orderType', 'lmtPrice', 'auxPrice', 'tif', 'ocaGroup', 'ocaType', 'account', 'orderRef', 'parentId',
  'outsideRth', 'trailStopPrice', 'trailingPercent', 'goodTillDate', 'goodAfterTime', 'hidden', 'displaySize', 'allOrNone', 'minQty',
];

/**
 * Places, modifies and cancels orders, and waits for IB's answer in the mirror. Every operation goes
 * through `hooks.beforeSend`, then the pacer at order priority. Deadlines never cancel an order: the
 * caller gets 504 with the order's state and the order lives on.
 */
export class OrderService {
  constructor(
    private readonly requests: Requests,
    private readonly mirror: Mirror,
    private readonly ids: OrderIds,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
    private readonly hooks: OrderHooks = {},
  ) {
    mirror.orders.onEvent((e) => {
      if (e.type === 'status') metrics?.orderStatus.inc({ status: e.status });
      if (e.type === 'fill') metrics?.fills.inc();
      if (e.type === 'error' && e.error && ORDER_REJECT_CODES.has(e.error.code) && e.error.code !== 202) {
        metrics?.orderRejects.inc({ ib_code: String(e.error.code) });
      }
    });
  }

  /**
   * One order, or a list: a bracket (parent first; children get parentId, only the last leg transmits)
   * unless every leg names the same ocaGroup (then each is placed as a member of that OCA group).
   */
  async place(legs: OrderLeg[], wait: WaitFor, d: Deadline): Promise<OrderRecord[]> {
    const sessionId = this.requests.assertServing();
    const ids = this.ids.allocate(legs.length);
    const oca = legs.length > 1 && legs.every((l) => typeof l.order.ocaGroup === 'string' && l.order.ocaGroup === legs[0]!.order.ocaGroup);
    const intents: OrderIntent[] = legs.map((leg, i) => {
      const order: Fields = { ...leg.order, orderId: ids[i] };
      if (legs.length > 1 && !oca) {
        if (i > 0) order.parentId = ids[0];
        // IB's bracket rule: nothing goes live until the last child arrives with transmit=true.
        order.transmit = i === legs.length - 1;
      } else order.transmit ??= true;
      return { action: 'place', orderId: ids[i]!, contract: { ...leg.contract }, order };
    });
    await this.hooks.beforeSend?.(intents);
    const records = intents.map((it) => this.mirror.orders.expect(it.orderId, it.contract!, it.order!));
    const waits = records.map((r, i) => this.waitFor(r, i === 0 ? wait : 'submitted', d, 'place_order'));
    const started = Date.now();
    let acked = false;
    const offAck = this.mirror.orders.onEvent((e) => {
      if (!acked && e.orderId === ids[0] && e.type === 'status' && ACKED.has(e.status)) {
        acked = true;
        this.metrics?.orderAck.observe((Date.now() - started) / 1000);
      }
    });
    try {
      for (const it of intents) {
        await this.requests.sendInSession(sessionId, 'place_order', (api) => api.placeOrder(it.orderId, it.contract as Contract, it.order as unknown as Order), {
          priority: PRIORITY.order,
          deadlineAt: d.deadlineAt,
        });
        this.metrics?.ordersPlaced.inc();
        this.hooks.afterSend?.(it);
        this.log.info({ orderId: it.orderId, action: it.order!.action, orderType: it.order!.orderType }, 'order sent');
      }
      await Promise.all(waits.map((w) => w.promise));
      return records.map((r) => this.mirror.orders.get(r.orderId) ?? r);
    } finally {
      offAck();
      for (const w of waits) w.dispose();
    }
  }

  async modify(orderId: number, patch: { contract?: ContractData; order: Fields }, d: Deadline): Promise<OrderRecord> {
    const sessionId = this.requests.assertServing();
    const rec = this.live(orderId);
    const contract = patch.contract ?? pick(rec.contract, CONTRACT_KEYS);
    const order: Fields = { ...pick(rec.order, ORDER_KEYS), ...patch.order, orderId, transmit: true };
    const intent: OrderIntent = { action: 'modify', orderId, contract, order };
    await this.hooks.beforeSend?.([intent]);
    const w = this.waitFor(rec, 'any', d, 'modify_order');
    try {
      await this.requests.sendInSession(sessionId, 'modify_order', (api) => api.placeOrder(orderId, contract as Contract, order as unknown as Order), {
        priority: PRIORITY.order,
        deadlineAt: d.deadlineAt,
      });
      this.hooks.afterSend?.(intent);
      this.log.info({ orderId }, 'order modify sent');
      await w.promise;
      return this.mirror.orders.get(orderId) ?? rec;
    } finally {
      w.dispose();
    }
  }

  async cancel(orderId: number, d: Deadline): Promise<OrderRecord> {
    const sessionId = this.requests.assertServing();
    const rec = this.live(orderId);
    const intent: OrderIntent = { action: 'cancel', orderId };
    await this.hooks.beforeSend?.([intent]);
    const w = this.waitFor(rec, 'cancelled', d, 'cancel_order');
    try {
      await this.requests.sendInSession(sessionId, 'cancel_order', (api) => api.cancelOrder(orderId), { priority: PRIORITY.cancel });
      this.hooks.afterSend?.(intent);
      this.log.info({ orderId }, 'order cancel sent');
      await w.promise;
      return this.mirror.orders.get(orderId) ?? rec;
    } finally {
      w.dispose();
    }
  }

  /** The order, if it exists and can still change. */
  private live(orderId: number): OrderRecord {
    const rec = this.mirror.orders.get(orderId);
    if (rec === undefined) throw new OrderNotFoundError(orderId);
    if (FINAL_STATUSES.has(rec.status)) throw new OrderNotModifiableError(orderId, rec.status);
    return rec;
  }

  /**
   * Resolves when the order reaches the wanted state, rejects on IB's refusal or at the deadline.
   * `any`: the next acknowledgement of a modify; `cancelled`: Cancelled/ApiCancelled or IB 202.
   */
  private waitFor(target: OrderRecord, want: WaitFor | 'any' | 'cancelled', d: Deadline, operation: string) {
    const orderId = target.orderId;
    let dispose = () => {};
    const promise = new Promise<void>((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        const rec = target;
        reject(new DeadlineExceededError(operation, d.timeoutMs, { orderId, waitingFor: want, order: rec }));
      }, Math.max(0, d.deadlineAt - Date.now()));
      const rejectWith = (rec: OrderRecord, code: number, message: string) => {
        const err = ibErrorToApiError(code, message, { operation, orderId });
        if (err instanceof OrderRejectedError || err.status === 404 || err.status === 409) {
          (err.details as Record<string, unknown> | undefined)!.order = rec;
        }
        reject(err);
      };
      const off = this.mirror.orders.onEvent((e: OrderEvent, rec) => {
        if (rec !== target) return;
        if (e.type === 'error' && e.error) {
          const { code, message } = e.error;
          if (want === 'cancelled' && code === 202) return resolve();
          if (ORDER_REJECT_CODES.has(code) || code === 10147 || code === 10148 || code === 135) return rejectWith(rec, code, message);
          return;
        }
        if (e.type !== 'status' && !(want === 'any' && e.type === 'open')) return;
        const s = e.status;
        switch (want) {
          case 'any':
            if (s !== 'PendingSubmit' && s !== 'PendingCancel') resolve();
            return;
          case 'cancelled':
            if (s === 'Cancelled' || s === 'ApiCancelled') resolve();
            else if (s === 'Filled') reject(new OrderNotModifiableError(orderId, s));
            return;
          case 'submitted':
          case 'filled': {
            const done = want === 'submitted' ? ACKED.has(s) : FINAL_STATUSES.has(s);
            if (!done) return;
            if (s === 'Filled' || s === 'PreSubmitted' || s === 'Submitted') return resolve();
            // Cancelled/Inactive: a refusal if IB said why (201/202…), possibly in the next message.
            clearTimeout(graceTimer);
            graceTimer = setTimeout(() => {
              const why = [...rec.errors].reverse().find((x) => ORDER_REJECT_CODES.has(x.code));
              if (why !== undefined) rejectWith(rec, why.code, why.message);
              else if (want === 'filled') reject(new OrderRejectedError(`Order ${orderId} ended ${s} without a fill`, undefined, { orderId, order: rec }));
              else resolve();
            }, REJECT_GRACE_MS);
            return;
          }
        }
      });
      // The order may or may not have reached IB: 503 says so, and the mirror re-syncs on reconnect.
      const offLost = this.requests.onSessionEnd(() => reject(new IbConnectionLostError(operation, this.requests.retryAfterSeconds())));
      dispose = () => {
        clearTimeout(timer);
        clearTimeout(graceTimer);
        off();
        offLost();
      };
    });
    // The caller awaits it later; a rejection before that must not count as unhandled.
    promise.catch(() => {});
    return { promise, dispose: () => dispose() };
  }

}

function pick(o: Fields, keys: string[]): Fields {
  const out: Fields = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== '') out[k] = o[k];
  return out;
}
