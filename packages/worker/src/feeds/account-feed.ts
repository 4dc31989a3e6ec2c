import type { EventEmitter } from 'node:events';
import type { WorkerMetrics } from '../metrics.js';
import type { Mirror } from '../state/mirror.js';
import type { MirrorChange } from '../state/types.js';
import { CallerBuffer } from './caller-buffer.js';
import type { Subscriber } from './hub.js';
import type { FeedEvent, FeedKind } from './types.js';

/** What one account stream wants: which kinds of change, of which account ('' = every account). */
export interface AccountStreamFilter {
  kinds: ReadonlySet<MirrorChange['kind']>;
  account?: string;
}

interface Entry extends FeedEvent {
  kind: MirrorChange['kind'] | 'status';
  account: string;
}

class AccountSubscriber implements Subscriber {
  readonly buffer: CallerBuffer;
  onReadable?: () => void;
  onEnd?: () => void;
  closed = false;

  constructor(
    readonly kind: FeedKind,
    readonly filter: AccountStreamFilter,
    private readonly feed: AccountFeed,
    capacity: number,
    onDrop: (n: number) => void,
  ) {
    this.buffer = new CallerBuffer(capacity, onDrop);
  }

  wants(e: Entry): boolean {
    if (e.kind === 'status') return true;
    return this.filter.kinds.has(e.kind) && (this.filter.account === undefined || e.account === this.filter.account);
  }

  push(e: Entry): void {
    if (this.closed) return;
    this.buffer.push(e);
    this.onReadable?.();
  }

  firstData(): Promise<void> {
    return Promise.resolve();
  }

  delivered(n: number): void {
    if (n > 0) this.feed.metrics?.feedEvents.inc({ kind: this.kind }, n);
  }

  close(): void {
    this.feed.detach(this);
  }
}

/**
 * Push streams of the account state the mirror keeps (positions, account values, PnL, executions): no IB
 * subscription of their own, the mirror is the source. Every change the mirror reports becomes one event
 * with a worker-wide increasing id; the latest event per key is the current state a joining caller gets
 * first, so a reader sees each value once and then every change once. With `Last-Event-ID` still inside the
 * kept history, exactly the events after it are replayed instead. `status` events tell callers when the IB
 * connection degrades and comes back (the values they hold may be stale meanwhile).
 */
export class AccountFeed {
  private seq = 0;
  private readonly history: Entry[] = [];
  /** key → latest event */
  private readonly state = new Map<string, Entry>();
  private readonly subscribers = new Set<AccountSubscriber>();
  private degraded: boolean;
  private readonly onState = (state: string) => this.connectionState(state);

  constructor(
    mirror: Mirror,
    private readonly conn: Pick<EventEmitter, 'on' | 'off'> & { readonly state: string },
    private readonly o: {
      historyEvents: number;
      bufferEvents: number;
      metrics?: WorkerMetrics;
      /**
       * Prefix of every event id (`<prefix><n>`): names this worker process, so a `Last-Event-ID` issued by
       * another worker (or before a restart) is recognised as foreign and answered with the current state.
       */
      idPrefix?: string;
    },
  ) {
    // Keys are unique within a kind (a position and its PnL share account:conId).
    mirror.onChange((c) => this.publish(c.kind, c.account, c.data, `${c.kind}|${c.key}`));
    conn.on('state', this.onState);
    this.degraded = conn.state !== 'ready';
  }

  get metrics(): WorkerMetrics | undefined {
    return this.o.metrics;
  }

  get idPrefix(): string {
    return this.o.idPrefix ?? '';
  }

  /** The SSE id of an event. */
  sseId(e: FeedEvent): string {
    return `${this.idPrefix}${e.id}`;
  }

  /** Attaches a caller: the current state (or the events after `lastEventId`), then every change. */
  subscribe(kind: FeedKind, filter: AccountStreamFilter, lastEventId?: string): Subscriber {
    const label = { kind };
    const sub = new AccountSubscriber(kind, filter, this, this.o.bufferEvents, (n) =>
      this.o.metrics?.feedDropped.inc(label, n),
    );
    this.subscribers.add(sub);
    this.o.metrics?.feedSubscribers.inc(label);
    const prefix = this.idPrefix;
    const own = lastEventId?.startsWith(prefix) === true ? lastEventId.slice(prefix.length) : undefined;
    const after = own !== undefined && /^\d+$/.test(own) ? Number(own) : undefined;
    const oldest = this.history[0]?.id;
    let initial: Entry[];
    if (
      after !== undefined &&
      after <= this.seq &&
      (after >= this.seq || (oldest !== undefined && oldest <= after + 1))
    ) {
      initial = this.history.filter((e) => e.id > after);
    } else {
      initial = [...this.state.values()].sort((a, b) => a.id - b.id);
      if (this.degraded) initial.push(this.statusEntry({ state: 'degraded', connection: this.conn.state }));
    }
    for (const e of initial) if (sub.wants(e)) sub.buffer.push(e);
    return sub;
  }

  /** The newest `limit` events a filter selects (Atom documents), newest first. */
  recent(filter: AccountStreamFilter, limit: number): FeedEvent[] {
    const probe = { filter, wants: AccountSubscriber.prototype.wants } as unknown as AccountSubscriber;
    const seen = new Map<number, Entry>();
    for (const e of this.state.values()) if (probe.wants(e)) seen.set(e.id, e);
    for (const e of this.history) if (e.kind !== 'status' && probe.wants(e)) seen.set(e.id, e);
    return [...seen.values()].sort((a, b) => b.id - a.id).slice(0, limit);
  }

  detach(sub: AccountSubscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.buffer.clear();
    this.subscribers.delete(sub);
    this.o.metrics?.feedSubscribers.dec({ kind: sub.kind });
  }

  /** Ends every caller (worker shutdown). */
  close(): void {
    this.conn.off('state', this.onState);
    for (const sub of [...this.subscribers]) {
      this.detach(sub);
      sub.onEnd?.();
    }
  }

  private publish(kind: Entry['kind'], account: string, data: Record<string, unknown>, key?: string): void {
    const at = Date.now();
    const e: Entry = {
      id: ++this.seq,
      event: kind,
      data: { ...data, at: new Date(at).toISOString() },
      at,
      topic: 'account',
      kind,
      account,
      ...(key !== undefined ? { field: key } : {}),
    };
    this.history.push(e);
    if (this.history.length > this.o.historyEvents) this.history.shift();
    if (key !== undefined) this.state.set(key, e);
    for (const sub of this.subscribers) if (sub.wants(e)) sub.push(e);
  }

  private statusEntry(data: Record<string, unknown>): Entry {
    const at = Date.now();
    return {
      id: this.seq,
      event: 'status',
      data: { ...data, at: new Date(at).toISOString() },
      at,
      topic: 'account',
      kind: 'status',
      account: '',
    };
  }

  private connectionState(state: string): void {
    if (state !== 'ready' && !this.degraded) {
      this.degraded = true;
      this.publish('status', '', { state: 'degraded', connection: state });
    } else if (state === 'ready' && this.degraded) {
      this.degraded = false;
      // The re-sync that follows repeats every value; only what changed meanwhile is sent on.
      this.publish('status', '', { state: 'restored', connection: 'ready' });
    }
  }
}
