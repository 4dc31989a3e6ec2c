import type { ApiError } from '@ibrest/common';

/** Feed kinds; the `kind` label of every feed metric. */
export type FeedKind =
  | 'market_data'
  | 'market_depth'
  | 'bars'
  | 'news'
  | 'scanner'
  | 'fundamental'
  | 'display_group'
  | 'fa'
  | 'historical'
  | 'positions'
  | 'account_values'
  | 'pnl'
  | 'executions';

/** One event of a feed, as delivered to callers (SSE `id`/`event`/`data`, one Atom entry). */
export interface FeedEvent {
  /** Monotonic over the whole worker process: the SSE id and the Last-Event-ID cursor. */
  id: number;
  /** SSE event name: `tick`, `book`, `bar`, `bulletin`, `scan`, `report`, `group`, `status`, `error`. */
  event: string;
  data: unknown;
  /** Epoch ms when the worker received it. */
  at: number;
  /** Topic (subscription key) the event belongs to. */
  topic: string;
  /**
   * Latest-value-wins identity within the topic (a tick field, "book", "scan"). Events with a field form the
   * topic's current state and may be coalesced for a lagging caller; events without one never are.
   */
  field?: string;
}

/** How a feed source hands IB's events to its topic. */
export interface FeedEmitter {
  /** A data event; with `field` it is coalescable and part of the current state. */
  emit(event: string, data: unknown, field?: string): void;
  /** IB refused or ended the subscription: callers get an `error` event and are closed. */
  fail(error: ApiError): void;
}

/**
 * Everything the hub needs to run one IB subscription for many callers. Sources are built in `src/ib/`
 * (the only place that speaks IB); the hub never sees IB messages.
 */
export interface FeedSource {
  /** Identity: the same key means the same IB subscription (contract, kind, parameters). */
  key: string;
  kind: FeedKind;
  /** Human title (Atom feed title). */
  title: string;
  /** Market-data lines held while live. */
  lines: number;
  /** Market-depth books held while live. */
  depthBooks: number;
  /**
   * Whether a data event completes the topic's first answer (a depth book with every row asked for); callers
   * waiting for first data wait for one such event. Default: any data event.
   */
  isComplete?(data: unknown): boolean;
  /** The IB side: start/cancel with a reqId, translate events through `out`. */
  start(out: FeedEmitter): FeedIbSpec;
}

/** The IB half of a source (matches SubscriptionSpec's IB callbacks, typed loosely to keep IB out of here). */
export interface FeedIbSpec {
  start(api: unknown, reqId: number): void;
  cancel(api: unknown, reqId: number): void;
  onEvent(name: string, args: unknown[]): void;
  onError?(e: { reqId: number; code: number; message: string }): void;
  /** IB dropped the subscription and it was re-established (forget state that IB will send again). */
  onRestart?(): void;
}
