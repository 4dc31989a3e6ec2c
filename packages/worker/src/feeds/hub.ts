import type { EventEmitter } from 'node:events';
import type { ApiError, Logger } from '@ibrest/common';
import type { SubscriptionHandle, SubscriptionRegistry } from '../ib/subscriptions.js';
import type { WorkerMetrics } from '../metrics.js';
import { CallerBuffer } from './caller-buffer.js';
import type { DepthBooks } from './depth-books.js';
import type { FeedEvent, FeedKind, FeedSource } from './types.js';

export interface FeedHubOptions {
  registry: Pick<SubscriptionRegistry, 'acquire'>;
  /** Emits 'state' (ConnectionState) on every connection state change. */
  conn: Pick<EventEmitter, 'on' | 'off'> & { readonly state: string };
  depthBooks: DepthBooks;
  /** Per-caller buffer capacity (FEED_BUFFER_EVENTS). */
  bufferEvents: number;
  /** Recent events kept per topic for Atom and Last-Event-ID replay (FEED_HISTORY_EVENTS). */
  historyEvents: number;
  metrics?: WorkerMetrics;
  log: Logger;
}

/** One caller of one or more topics (a multi-contract market-data stream has several). */
export interface Subscriber {
  readonly kind: FeedKind;
  readonly buffer: CallerBuffer;
  /** Set by the deliverer: called after events were queued. */
  onReadable?: () => void;
  /** Set by the deliverer: the hub ended this caller (its subscription failed, or the hub closed). */
  onEnd?: () => void;
  /** Resolves when every topic delivered a first event, or `ms` passed; rejects when a topic failed. */
  firstData(ms: number): Promise<void>;
  /** Events delivered (for the events metric). */
  delivered(n: number): void;
  close(): void;
}

interface Topic {
  source: FeedSource;
  refs: number;
  handle?: SubscriptionHandle;
  releaseBooks: () => void;
  subscribers: Set<SubscriberImpl>;
  /** Oldest first, at most historyEvents. */
  history: FeedEvent[];
  /** field → latest event carrying it: the current state sent to every joining caller. */
  state: Map<string, FeedEvent>;
  hasData: boolean;
  error?: ApiError;
  waiters: Set<() => void>;
  /** Re-established at IB during the current outage. */
  resubscribed: boolean;
}

class SubscriberImpl implements Subscriber {
  readonly buffer: CallerBuffer;
  onReadable?: () => void;
  onEnd?: () => void;
  closed = false;

  constructor(
    readonly kind: FeedKind,
    readonly topics: Topic[],
    private readonly hub: FeedHub,
    capacity: number,
    onDrop: (n: number) => void,
  ) {
    this.buffer = new CallerBuffer(capacity, onDrop);
  }

  push(e: FeedEvent): void {
    if (this.closed) return;
    this.buffer.push(e);
    this.onReadable?.();
  }

  firstData(ms: number): Promise<void> {
    return this.hub.firstData(this.topics, ms);
  }

  delivered(n: number): void {
    this.hub.countDelivered(this.kind, n);
  }

  close(): void {
    this.hub.detach(this);
  }
}

/**
 * Fan-out of IB subscriptions to callers. One topic per distinct source key holds ONE IB subscription
 * (through the reference-counted SubscriptionRegistry, which also re-establishes it after 1101 or a
 * reconnect) and feeds every caller attached to it. The topic is released, and cancelled at IB, when its
 * last caller (stream or Atom hold) leaves. Callers get the topic's current state on joining, `status`
 * events when the IB connection degrades and comes back, and an `error` event when IB ends the
 * subscription. Each caller's backlog is a bounded CallerBuffer, so a stalled reader costs at most
 * `bufferEvents` events.
 */
export class FeedHub {
  /** source key → topic */
  private readonly topics = new Map<string, Topic>();
  /** every attached caller */
  private readonly subscribers = new Set<SubscriberImpl>();
  /** source key → Atom hold keeping the topic alive between polls */
  private readonly holds = new Map<string, { timer: NodeJS.Timeout; topic: Topic }>();
  private seq = 0;
  /** streams not attached to a topic (single documents) to end on close */
  private readonly others = new Set<() => void>();
  private degraded = false;
  /** A `restored` status is queued (sent after the re-subscriptions that follow the state change). */
  private restorePending = false;
  private readonly onState = (state: string) => this.connectionState(state);

  constructor(private readonly o: FeedHubOptions) {
    o.conn.on('state', this.onState);
    this.degraded = o.conn.state !== 'ready';
  }

  /** Live topics, attached callers and events waiting in their buffers (the memory a feed costs). */
  stats(): { topics: number; subscribers: number; buffered: number; maxBuffered: number } {
    let buffered = 0;
    let maxBuffered = 0;
    for (const s of this.subscribers) {
      buffered += s.buffer.size;
      maxBuffered = Math.max(maxBuffered, s.buffer.size);
    }
    return { topics: this.topics.size, subscribers: this.subscribers.size, buffered, maxBuffered };
  }

  topicKeys(): string[] {
    return [...this.topics.keys()];
  }

  /**
   * Attaches a caller to the sources' topics (creating them, which may throw a budget error before anything
   * reaches IB). Joining sends the current state; with `lastEventId`, events after it that are still in the
   * history are replayed as well.
   */
  subscribe(kind: FeedKind, sources: FeedSource[], options: { lastEventId?: string } = {}): Subscriber {
    const topics = this.acquireTopics(sources);
    const kindLabel = { kind };
    const sub = new SubscriberImpl(kind, topics, this, this.o.bufferEvents, (n) =>
      this.o.metrics?.feedDropped.inc(kindLabel, n),
    );
    this.subscribers.add(sub);
    this.o.metrics?.feedSubscribers.inc(kindLabel);
    const after = options.lastEventId !== undefined ? Number(options.lastEventId) : undefined;
    const initial: FeedEvent[] = [];
    for (const t of topics) {
      t.subscribers.add(sub);
      initial.push(...t.state.values());
      if (after !== undefined && Number.isFinite(after))
        initial.push(...t.history.filter((e) => e.id > after && e.field === undefined));
    }
    initial.sort((a, b) => a.id - b.id);
    for (const e of initial) sub.buffer.push(e);
    return sub;
  }

  /** Keeps the sources' topics alive for `ms` more (Atom readers poll; each poll must not re-subscribe at IB). */
  hold(sources: FeedSource[], ms: number): void {
    for (const source of sources) {
      const existing = this.holds.get(source.key);
      if (existing !== undefined && existing.topic.error === undefined) {
        existing.timer.refresh();
        continue;
      }
      if (existing !== undefined) this.unhold([source]);
      const [topic] = this.acquireTopics([source]);
      const timer = setTimeout(() => this.unhold([source]), ms);
      timer.unref();
      this.holds.set(source.key, { timer, topic: topic! });
    }
  }

  /** Drops the Atom holds of these sources (their topics are released when nobody else holds them). */
  unhold(sources: FeedSource[]): void {
    for (const source of sources) {
      const h = this.holds.get(source.key);
      if (h === undefined) continue;
      clearTimeout(h.timer);
      this.holds.delete(source.key);
      this.releaseTopic(h.topic);
    }
  }

  /** Waits for the first event of the held sources' topics (see Subscriber.firstData). */
  waitForData(sources: FeedSource[], ms: number): Promise<void> {
    const topics = sources
      .map((s) => this.topics.get(s.key) ?? this.holds.get(s.key)?.topic)
      .filter((t): t is Topic => t !== undefined);
    return this.firstData(topics, ms);
  }

  /** The newest `limit` events of the sources' topics (history, and the state for topics without history). */
  recent(sources: FeedSource[], limit: number): FeedEvent[] {
    const seen = new Map<number, FeedEvent>();
    for (const s of sources) {
      const t = this.topics.get(s.key);
      if (t === undefined) continue;
      for (const e of t.history) seen.set(e.id, e);
      for (const e of t.state.values()) seen.set(e.id, e);
    }
    return [...seen.values()].sort((a, b) => b.id - a.id).slice(0, limit);
  }

  /** The current state (latest event per field) of the sources' topics, oldest first. */
  current(sources: FeedSource[]): FeedEvent[] {
    const out: FeedEvent[] = [];
    for (const s of sources) out.push(...(this.topics.get(s.key)?.state.values() ?? []));
    return out.sort((a, b) => a.id - b.id);
  }

  /** Error of a source's topic, if IB refused it. */
  errorOf(source: FeedSource): ApiError | undefined {
    return this.topics.get(source.key)?.error;
  }

  firstData(topics: Topic[], ms: number): Promise<void> {
    const pending = topics.filter((t) => !t.hasData || t.error !== undefined);
    const failed = pending.find((t) => t.error !== undefined);
    if (failed !== undefined) return Promise.reject(failed.error);
    if (pending.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        const f = topics.find((t) => t.error !== undefined);
        if (f !== undefined) return finish(f.error);
        if (topics.every((t) => t.hasData)) finish();
      };
      const timer = setTimeout(() => finish(), Math.max(0, ms));
      const finish = (err?: ApiError) => {
        clearTimeout(timer);
        for (const t of pending) t.waiters.delete(check);
        if (err !== undefined) reject(err);
        else resolve();
      };
      for (const t of pending) t.waiters.add(check);
    });
  }

  countDelivered(kind: FeedKind, n: number): void {
    if (n > 0) this.o.metrics?.feedEvents.inc({ kind }, n);
  }

  detach(sub: SubscriberImpl): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.buffer.clear();
    this.subscribers.delete(sub);
    this.o.metrics?.feedSubscribers.dec({ kind: sub.kind });
    for (const t of sub.topics) {
      t.subscribers.delete(sub);
      this.releaseTopic(t);
    }
  }

  /** Registers a stream outside any topic to be ended by close(); returns the unregister. */
  track(end: () => void): () => void {
    this.others.add(end);
    return () => this.others.delete(end);
  }

  /** Ends every caller and hold (worker shutdown); their topics are released. */
  close(): void {
    for (const end of [...this.others]) end();
    this.others.clear();
    this.o.conn.off('state', this.onState);
    for (const { topic } of [...this.holds.values()]) this.unhold([topic.source]);
    for (const sub of [...this.subscribers]) {
      this.detach(sub);
      sub.onEnd?.();
    }
  }

  private acquireTopics(sources: FeedSource[]): Topic[] {
    const acquired: Topic[] = [];
    try {
      for (const source of sources) {
        let topic = this.topics.get(source.key);
        if (topic === undefined || topic.error !== undefined) topic = this.createTopic(source);
        topic.refs++;
        acquired.push(topic);
      }
    } catch (err) {
      for (const t of acquired) this.releaseTopic(t);
      throw err;
    }
    return acquired;
  }

  private createTopic(source: FeedSource): Topic {
    const releaseBooks = this.o.depthBooks.acquire(source.depthBooks);
    const topic: Topic = {
      source,
      refs: 0,
      releaseBooks,
      subscribers: new Set(),
      history: [],
      state: new Map(),
      hasData: false,
      waiters: new Set(),
      resubscribed: false,
    };
    const ib = source.start({
      emit: (event, data, field) => this.publish(topic, event, data, field),
      fail: (error) => this.fail(topic, error),
    });
    try {
      topic.handle = this.o.registry.acquire({
        key: `feed:${source.key}`,
        kind: source.kind,
        lines: source.lines,
        start: (api, reqId) => ib.start(api, reqId),
        cancel: (api, reqId) => ib.cancel(api, reqId),
        onEvent: (name, args) => ib.onEvent(name, args),
        onError: (e) => ib.onError?.(e),
        onRestart: () => {
          ib.onRestart?.();
          this.restarted(topic);
        },
      });
    } catch (err) {
      releaseBooks();
      throw err;
    }
    this.topics.set(source.key, topic);
    this.o.metrics?.feedIbSubscriptions.inc({ kind: source.kind });
    return topic;
  }

  private releaseTopic(topic: Topic): void {
    if (--topic.refs > 0) return;
    if (this.topics.get(topic.source.key) === topic) this.topics.delete(topic.source.key);
    topic.handle?.release();
    topic.handle = undefined;
    topic.releaseBooks();
    this.o.metrics?.feedIbSubscriptions.dec({ kind: topic.source.kind });
  }

  private publish(topic: Topic, event: string, data: unknown, field?: string): void {
    if (topic.error !== undefined) return;
    const e: FeedEvent = {
      id: ++this.seq,
      event,
      data,
      at: Date.now(),
      topic: topic.source.key,
      ...(field !== undefined ? { field } : {}),
    };
    topic.history.push(e);
    if (topic.history.length > this.o.historyEvents) topic.history.shift();
    if (field !== undefined) topic.state.set(field, e);
    if (event !== 'status' && event !== 'error' && !topic.hasData && (topic.source.isComplete?.(data) ?? true)) {
      topic.hasData = true;
      for (const w of [...topic.waiters]) w();
    }
    for (const sub of topic.subscribers) sub.push(e);
  }

  private fail(topic: Topic, error: ApiError): void {
    if (topic.error !== undefined) return;
    this.o.log.warn(
      { key: topic.source.key, code: error.code, ibCode: error.ibCode },
      'feed subscription refused by IB',
    );
    const e: FeedEvent = {
      id: ++this.seq,
      event: 'error',
      data: error.toJSON(),
      at: Date.now(),
      topic: topic.source.key,
    };
    topic.error = error;
    for (const w of [...topic.waiters]) w();
    // A refused topic is dead: new callers create a fresh one; current callers see the error, then the end.
    if (this.topics.get(topic.source.key) === topic) this.topics.delete(topic.source.key);
    for (const sub of [...topic.subscribers]) {
      sub.push(e);
      sub.onEnd?.();
    }
  }

  private restarted(topic: Topic): void {
    // During an outage, or right after one (1100 then 1101): the queued `restored` reports the re-subscription.
    if (this.degraded || this.restorePending) {
      topic.resubscribed = true;
      return;
    }
    // 1101 without a preceding outage notice: the data was lost all the same.
    this.status(topic, { state: 'degraded', reason: 'IB reported data lost (1101); re-subscribing' });
    this.status(topic, { state: 'restored', resubscribed: true });
  }

  private connectionState(state: string): void {
    if (state !== 'ready' && !this.degraded) {
      this.degraded = true;
      for (const t of this.topics.values()) this.status(t, { state: 'degraded', connection: state });
    } else if (state === 'ready' && this.degraded) {
      this.degraded = false;
      this.restorePending = true;
      // 'session' / 'dataLost' (which re-subscribe) are emitted right after this state change: report after them.
      queueMicrotask(() => {
        this.restorePending = false;
        for (const t of this.topics.values()) {
          this.status(t, { state: 'restored', connection: 'ready', resubscribed: t.resubscribed });
          t.resubscribed = false;
        }
      });
    }
  }

  private status(topic: Topic, data: Record<string, unknown>): void {
    this.publish(topic, 'status', { ...data, feed: topic.source.key, at: new Date().toISOString() });
  }
}
