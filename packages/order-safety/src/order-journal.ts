import { SqliteLog, type OpenReport, type ReadOptions, type SubscribeOptions } from './sqlite-log.js';
import type { StorageHealthSource } from './storage-file.js';

/**
 * What happened to an order, in IB's vocabulary where IB has one. `status` carries IB's exact status name
 * (PreSubmitted, Submitted, Filled, Cancelled, Inactive …) in `status`.
 */
export const ORDER_EVENT_TYPES = [
  'accepted', // passed validation and policy; about to be sent
  'sent', // placeOrder handed to IB
  'status', // an orderStatus change
  'fill', // an execution (execDetails)
  'commission', // a commission report for an execution
  'modify-requested',
  'cancel-requested',
  'cancelled',
  'rejected', // refused by IB (201, 202 …) or by us before sending
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

export interface OrderEventInput {
  type: OrderEventType;
  orderId?: number;
  permId?: number;
  clientId?: number;
  orderRef?: string;
  idempotencyKey?: string;
  /** IB's status name for `status` events. */
  status?: string;
  /** IB's execution id for `fill` and `commission` events; reconciliation dedupes on it. */
  execId?: string;
  /** IB's error code for `rejected` events. */
  ibCode?: number;
  /** True when the event was not seen live but recovered by reconciliation after a (re)connect. */
  reconciled?: boolean;
  /** Anything else worth keeping (contract, order fields, fill price, commission …); must be JSON. */
  data?: Record<string, unknown>;
}

export interface OrderEvent extends OrderEventInput {
  /** Monotonic, gap-free, never reused, survives restarts. */
  cursor: number;
  /** ISO-8601 time the journal accepted the event. */
  time: string;
}

export interface OrderJournalOptions {
  /** Directory holding `orders.db` (created if missing). */
  dir: string;
  /** synchronous=FULL: every commit is fsynced. Turn off only for throwaway data. @default true */
  fsync?: boolean;
  /** Time source for `time`. @default Date.now */
  clock?: () => number;
  /** Full `PRAGMA integrity_check` at open instead of `quick_check`. @default false */
  fullIntegrityCheck?: boolean;
  /** How often a failing file retries a write. @default 1000 */
  probeIntervalMs?: number;
  /** How often the file's identity (device, inode) is checked besides before each write. @default 1000 */
  identityIntervalMs?: number;
}

/** How {@link OrderJournal.find} addresses one order. */
export type OrderAddress = { permId: number } | { orderRef: string } | { clientId: number; orderId: number };

export interface OrderJournal extends StorageHealthSource {
  /** Resolves with the stored event (cursor assigned) once it is durable. */
  append(event: OrderEventInput): Promise<OrderEvent>;
  read(options?: ReadOptions): Promise<OrderEvent[]>;
  last(): OrderEvent | undefined;
  /** Events of one order, oldest first: by IB's permId, by orderRef, or by clientId + orderId (no clientId = 0). */
  find(ids: OrderAddress, limit?: number): OrderEvent[];
  /** The highest orderId journalled for any of these clientIds (0 when none): new ids start above it. */
  highestOrderId(clientIds: Iterable<number>): number;
  /** Cursor of the last durable event; 0 when empty. */
  readonly lastCursor: number;
  subscribe(listener: (event: OrderEvent) => void, options?: SubscribeOptions): () => void;
  /** What opening found (recovered WAL, migration from JSON lines). */
  readonly openReport: OpenReport;
  /** Committed transactions so far; with concurrent appends this stays well below the number of events. */
  readonly commitBatches: number;
  close(): Promise<void>;
}

export async function createOrderJournal(options: OrderJournalOptions): Promise<OrderJournal> {
  const clock = options.clock ?? Date.now;
  const log = SqliteLog.open<OrderEvent>({
    dir: options.dir,
    prefix: 'orders',
    label: 'order journal',
    sync: options.fsync ?? true,
    indexed: { perm_id: 'permId', order_ref: 'orderRef', client_id: 'clientId', order_id: 'orderId' },
    ...(options.fullIntegrityCheck === undefined ? {} : { fullIntegrityCheck: options.fullIntegrityCheck }),
    ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }),
    ...(options.identityIntervalMs === undefined ? {} : { identityIntervalMs: options.identityIntervalMs }),
  });
  return {
    append: (event) => {
      if (!(ORDER_EVENT_TYPES as readonly string[]).includes(event.type)) {
        const types = ORDER_EVENT_TYPES.join(', ');
        const got = JSON.stringify(event.type);
        return Promise.reject(new TypeError(`expected an order event type (${types}), got ${got}`));
      }
      return log.append({ time: new Date(clock()).toISOString(), ...event });
    },
    read: (opts) => log.read(opts),
    last: () => log.last(),
    find: (ids, limit) => {
      if ('permId' in ids) return log.findBy({ perm_id: ids.permId }, limit);
      if ('orderRef' in ids) return log.findBy({ order_ref: ids.orderRef }, limit);
      const own = log.findBy({ client_id: ids.clientId, order_id: ids.orderId }, limit);
      if (ids.clientId !== 0) return own;
      // Events without a clientId count as clientId 0 (as in the reconciliation projection).
      const unset = log.findBy({ order_id: ids.orderId }, 100_000).filter((e) => e.clientId === undefined);
      return [...own, ...unset].sort((a, b) => a.cursor - b.cursor).slice(0, limit);
    },
    highestOrderId: (clientIds) => log.maxWhere('order_id', 'client_id', [...clientIds]) ?? 0,
    get lastCursor() {
      return log.lastCursor;
    },
    subscribe: (listener, opts) => log.subscribe(listener, opts),
    openReport: log.openReport,
    get commitBatches() {
      return log.batches;
    },
    health: () => log.health(),
    isWritable: () => log.isWritable(),
    onHealthChange: (listener) => log.onHealthChange(listener),
    close: () => log.close(),
  };
}
