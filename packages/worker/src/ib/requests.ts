import { EventName, type IBApi } from '@stoqey/ib';
import type { ApiError, Logger } from '@ibrest/common';
import { DeadlineExceededError, IbConnectionLostError, IbNotReadyError, MirrorNotSyncedError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';
import type { IbConnection, RequestErrorEvent } from './connection.js';
import { ibErrorToApiError } from './error-codes.js';
import { PRIORITY, type Pacer } from './pacer.js';

/** IBApi events whose first argument is the reqId of the request they answer. */
export const REQ_ID_EVENTS = [
  EventName.contractDetails,
  EventName.bondContractDetails,
  EventName.contractDetailsEnd,
  EventName.historicalData,
  EventName.headTimestamp,
  EventName.symbolSamples,
  EventName.securityDefinitionOptionParameter,
  EventName.securityDefinitionOptionParameterEnd,
  EventName.tickPrice,
  EventName.tickSize,
  EventName.tickGeneric,
  EventName.tickString,
  EventName.tickSnapshotEnd,
  EventName.accountSummary,
  EventName.accountSummaryEnd,
  EventName.pnl,
  EventName.pnlSingle,
  EventName.execDetails,
  EventName.execDetailsEnd,
  // Feeds (src/ib/feed-sources.ts, feed-requests.ts):
  EventName.updateMktDepth,
  EventName.updateMktDepthL2,
  EventName.realtimeBar,
  EventName.scannerData,
  EventName.scannerDataEnd,
  EventName.fundamentalData,
  EventName.displayGroupList,
  EventName.displayGroupUpdated,
  EventName.replaceFAEnd,
  // News (src/ib/news.ts):
  EventName.historicalNews,
  EventName.historicalNewsEnd,
  EventName.newsArticle,
  // Account values of every managed account (src/ib/sync.ts), historical updates and ticks (src/ib/historical.ts):
  EventName.accountUpdateMulti,
  EventName.accountUpdateMultiEnd,
  // Positions per account when the login has more than 50 sub-accounts (src/ib/sync.ts):
  EventName.positionMulti,
  EventName.positionMultiEnd,
  EventName.historicalDataUpdate,
  EventName.historicalTicks,
  EventName.historicalTicksBidAsk,
  EventName.historicalTicksLast,
] as const;

/** Request ids live above order ids: IB reports errors for both through one id namespace. */
const REQ_ID_BASE = 100_000_000;

export interface RequestHandler {
  event(name: string, args: unknown[]): void;
  error(e: RequestErrorEvent): void;
}

export interface RequestSpec<T> {
  /** Metric label and error context ("contract_details", "historical", …). */
  operation: string;
  deadlineAt: number;
  timeoutMs: number;
  send(api: IBApi, reqId: number): void;
  /** Cancels the IB-side request when the deadline passes (cancelHistoricalData, cancelMktData, …). */
  cancel?(api: IBApi, reqId: number): void;
  /** Receives every event for this reqId; calls `done` with the answer when complete. */
  onEvent(name: string, args: unknown[], done: (value: T) => void): void;
  /** Turns an IB error for this reqId into the answer (return a value) or an error; default mapping otherwise. */
  onError?(e: RequestErrorEvent): ApiError | { value: T } | undefined;
  /** What had arrived when the deadline passed, for the 504's details. */
  partial?(): Record<string, unknown>;
}

/**
 * Runs one-shot IB requests: allocates a reqId, sends through the pacer, routes the answer events and
 * errors for that reqId back, and enforces the deadline (cancelling at IB, then 504).
 */
export class Requests {
  private nextId = REQ_ID_BASE;
  /** reqId → handler of the pending request or live subscription */
  private readonly handlers = new Map<number, RequestHandler>();

  constructor(
    private readonly conn: IbConnection,
    private readonly pacer: Pacer,
    private readonly log: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {
    for (const name of REQ_ID_EVENTS) {
      // Number(): @stoqey/ib 1.6 reads the reqId of ACCOUNT_UPDATE_MULTI_END as text (IB's decoder reads an int).
      conn.listen(name, (reqId: number | string, ...rest: unknown[]) =>
        this.handlers.get(Number(reqId))?.event(name, rest),
      );
    }
    conn.on('requestError', (e: RequestErrorEvent) => this.handlers.get(e.reqId)?.error(e));
  }

  allocate(): number {
    this.nextId = this.nextId >= 2_000_000_000 ? REQ_ID_BASE : this.nextId + 1;
    return this.nextId;
  }

  register(reqId: number, handler: RequestHandler): void {
    this.handlers.set(reqId, handler);
  }

  unregister(reqId: number): void {
    this.handlers.delete(reqId);
  }

  owns(reqId: number): boolean {
    return this.handlers.has(reqId);
  }

  /** Calls `fn` when the current IB session ends; returns the unsubscribe. */
  onSessionEnd(fn: () => void): () => void {
    this.conn.on('sessionEnd', fn);
    return () => this.conn.off('sessionEnd', fn);
  }

  retryAfterSeconds(): number {
    return this.conn.retryAfterSeconds();
  }

  /**
   * Throws 503 unless the mirror can be read: live while the connection serves, or its last state while the
   * link is down once it has been synced (the app then adds `X-IBRest-Mirror-Age`).
   */
  assertMirror(): void {
    if (this.conn.serving || this.conn.mirrorSynced) return;
    throw new MirrorNotSyncedError(this.conn.state, this.conn.retryAfterSeconds());
  }

  /** Throws 503 unless the connection can serve requests now. */
  assertServing(): number {
    const session = this.conn.session;
    if (!this.conn.serving || session === undefined) {
      throw new IbNotReadyError(this.conn.state, this.conn.retryAfterSeconds());
    }
    return session.id;
  }

  /** Sends one message in the given session through the pacer; refuses if that session ended meanwhile. */
  async sendInSession(
    sessionId: number,
    operation: string,
    fn: (api: IBApi) => void,
    options: { deadlineAt?: number; priority?: number } = {},
  ): Promise<void> {
    await this.pacer.send(
      operation,
      () => {
        const session = this.conn.session;
        if (session === undefined || session.id !== sessionId)
          throw new IbConnectionLostError(operation, this.conn.retryAfterSeconds());
        fn(session.api);
      },
      options,
    );
  }

  run<T>(spec: RequestSpec<T>): Promise<T> {
    const sessionId = this.assertServing();
    const reqId = this.allocate();
    const started = Date.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let sent = false;
      const finish = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.conn.off('sessionEnd', onSessionEnd);
        this.unregister(reqId);
        if (err === undefined) {
          this.metrics?.ibRequestDuration.observe({ operation: spec.operation }, (Date.now() - started) / 1000);
          resolve(value as T);
        } else reject(err);
      };
      const onSessionEnd = () => finish(new IbConnectionLostError(spec.operation, this.conn.retryAfterSeconds()));
      this.conn.on('sessionEnd', onSessionEnd);
      const timer = setTimeout(
        () => {
          if (settled) return;
          const partial = spec.partial?.();
          finish(
            new DeadlineExceededError(spec.operation, spec.timeoutMs, {
              reqId,
              sent,
              ...(partial ? { pending: partial } : {}),
            }),
          );
          if (sent && spec.cancel !== undefined) {
            const cancel = spec.cancel;
            this.sendInSession(sessionId, `${spec.operation}_cancel`, (api) => cancel(api, reqId), {
              priority: PRIORITY.cancel,
            }).catch((err) => this.log.debug({ err, reqId }, 'cancel after deadline not sent'));
          }
        },
        Math.max(0, spec.deadlineAt - Date.now()),
      );
      this.register(reqId, {
        event: (name, args) => {
          try {
            spec.onEvent(name, args, (value) => finish(undefined, value));
          } catch (err) {
            finish(err);
          }
        },
        error: (e) => {
          const mapped = spec.onError?.(e);
          if (mapped !== undefined && 'value' in mapped) finish(undefined, mapped.value);
          else finish(mapped ?? ibErrorToApiError(e.code, e.message, { operation: spec.operation }));
        },
      });
      this.sendInSession(
        sessionId,
        spec.operation,
        (api) => {
          // The caller may have given up while the message waited in the pacer: then nothing goes to IB.
          if (settled) return;
          spec.send(api, reqId);
          sent = true;
        },
        { deadlineAt: spec.deadlineAt },
      ).catch((err) => finish(err));
    });
  }
}
