import type { IBApi } from '@stoqey/ib';
import type { Logger } from '@ibrest/common';
import type { IbConnection, RequestErrorEvent } from './connection.js';
import type { MarketDataLines } from './market-data-lines.js';
import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

/** A streaming IB request that outlives one HTTP call (PnL today; market data, bars, depth for feeds). */
export interface SubscriptionSpec {
  /** Identity: callers asking for the same key share one IB subscription. */
  key: string;
  kind: string;
  /** Market-data lines it holds while live. */
  lines: number;
  start(api: IBApi, reqId: number): void;
  cancel(api: IBApi, reqId: number): void;
  onEvent(name: string, args: unknown[]): void;
  onError?(e: RequestErrorEvent): void;
  /** Called each time IB lost it and it was re-established (after 1101 or a reconnect). */
  onRestart?(): void;
}

export interface SubscriptionHandle {
  readonly key: string;
  release(): void;
}

interface Live {
  spec: SubscriptionSpec;
  refs: number;
  reqId: number;
  releaseLines: () => void;
}

/**
 * Reference-counted IB subscriptions. One IB request per key however many callers hold it; cancelled at
 * IB when the last caller releases it; re-established with a fresh reqId after IB dropped them (1101, or a
 * new session after a reconnect), so no stream stays silently dead.
 */
export class SubscriptionRegistry {
  /** key → live subscription */
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly conn: IbConnection,
    private readonly requests: Requests,
    private readonly lines: MarketDataLines,
    private readonly log: Logger,
  ) {
    conn.on('session', () => this.restartAll('reconnect'));
    conn.on('dataLost', () => this.restartAll('1101'));
  }

  get size(): number {
    return this.live.size;
  }

  keys(): string[] {
    return [...this.live.keys()];
  }

  acquire(spec: SubscriptionSpec): SubscriptionHandle {
    let entry = this.live.get(spec.key);
    if (entry === undefined) {
      const releaseLines = this.lines.acquire(spec.lines);
      entry = { spec, refs: 0, reqId: this.requests.allocate(), releaseLines };
      this.live.set(spec.key, entry);
      this.start(entry);
    }
    entry.refs++;
    const live = entry;
    let released = false;
    return {
      key: spec.key,
      release: () => {
        if (released) return;
        released = true;
        if (--live.refs > 0) return;
        this.live.delete(spec.key);
        this.requests.unregister(live.reqId);
        live.releaseLines();
        const session = this.conn.session;
        if (session !== undefined && this.conn.serving) {
          this.requests
            .sendInSession(session.id, `${spec.kind}_cancel`, (api) => spec.cancel(api, live.reqId), {
              priority: PRIORITY.cancel,
            })
            .catch((err) => this.log.debug({ err, key: spec.key }, 'subscription cancel not sent'));
        }
      },
    };
  }

  private start(entry: Live): void {
    const { spec, reqId } = entry;
    this.requests.register(reqId, {
      event: (name, args) => spec.onEvent(name, args),
      error: (e) => spec.onError?.(e),
    });
    const session = this.conn.session;
    // Not serving yet: the next 'session' event starts it.
    if (session === undefined || !this.conn.serving) return;
    this.requests
      .sendInSession(
        session.id,
        spec.kind,
        (api) => {
          if (this.live.get(spec.key) === entry && entry.reqId === reqId) spec.start(api, reqId);
        },
        { priority: PRIORITY.background },
      )
      .catch((err) => this.log.warn({ err, key: spec.key }, 'subscription not started'));
  }

  private restartAll(reason: string): void {
    if (this.live.size === 0) return;
    this.log.info({ reason, subscriptions: this.live.size }, 're-establishing subscriptions');
    for (const entry of this.live.values()) {
      this.requests.unregister(entry.reqId);
      entry.reqId = this.requests.allocate();
      this.start(entry);
      entry.spec.onRestart?.();
    }
  }
}
