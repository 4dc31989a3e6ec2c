import { SegmentedLog, type OpenReport, type ReadOptions, type SubscribeOptions } from './segmented-log.js';

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
  /** Directory holding the segments (created if missing). */
  dir: string;
  /** fdatasync every commit batch. Turn off only for throwaway data. @default true */
  fsync?: boolean;
  /** Time source for `time`. @default Date.now */
  clock?: () => number;
  /** @default 16 MiB */
  maxSegmentBytes?: number;
}

export interface OrderJournal {
  /** Resolves with the stored event (cursor assigned) once it is durable. */
  append(event: OrderEventInput): Promise<OrderEvent>;
  read(options?: ReadOptions): Promise<OrderEvent[]>;
  last(): OrderEvent | undefined;
  /** Cursor of the last durable event; 0 when empty. */
  readonly lastCursor: number;
  subscribe(listener: (event: OrderEvent) => void, options?: SubscribeOptions): () => void;
  /** What recovery found when the journal was opened. */
  readonly openReport: OpenReport;
  /** Write+sync rounds so far; with concurrent appends this stays well below the number of events. */
  readonly commitBatches: number;
  close(): Promise<void>;
}

export async function createOrderJournal(options: OrderJournalOptions): Promise<OrderJournal> {
  const clock = options.clock ?? Date.now;
  const log = await SegmentedLog.open<OrderEvent>({
    dir: options.dir,
    prefix: 'orders',
    sync: options.fsync ?? true,
    maxSegmentBytes: options.maxSegmentBytes,
  });
  return {
    append: (event) => {
      if (!(ORDER_EVENT_TYPES as readonly string[]).includes(event.type)) {
        return Promise.reject(new TypeError(`expected an order event type (${ORDER_EVENT_TYPES.join(', ')}), got ${JSON.stringify(event.type)}`));
      }
      return log.append({ time: new Date(clock()).toISOString(), ...event });
    },
    read: (opts) => log.read(opts),
    last: () => log.last(),
    get lastCursor() {
      return log.lastCursor;
    },
    subscribe: (listener, opts) => log.subscribe(listener, opts),
    openReport: log.openReport,
    get commitBatches() {
      return log.batches;
    },
    close: () => log.close(),
  };
}
