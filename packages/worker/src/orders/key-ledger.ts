import type { Logger } from '@ibrest/common';
import type { IdempotencyStore, OrderProjection, StoredResponse } from '@ibrest/order-safety';
import type { Deadline } from '../ib/deadline.js';
import type { OrderService } from '../ib/order-service.js';
import type { OrderRecord } from '../state/types.js';
import { judgeAll, type Watch } from './evidence.js';
import type { JournalSync } from './journal-sync.js';
import { OrderCancelledError } from './evidence.js';
import {
  answerBody,
  evidenceOutcome,
  unsettledKeyError,
  withOrders,
  type Flight,
  type KeyHold,
  type KeyMeta,
  type Outcome,
} from './pipeline.js';
import type { Reconciler } from './reconciler.js';

/** A key whose order IB has not decided yet (504 or lost), or whose order must first be looked up at IB. */
interface Followed {
  key: KeyHold;
  /** Absent while the order is still to be looked up by orderRef (a crash left the key, IB was not reconciled). */
  watches?: Watch[];
}

/**
 * Idempotency-Keys follow their orders. A key's answer is stored only once IB decided (acknowledged →
 * 201, refused → the 4xx); until then the key follows the order: every IB event about it is judged, and a
 * retry answers with the order's current state. After every reconciliation (new session), a key whose
 * order IB never received is released (the retry places it) and its placeholder leaves the mirror; keys
 * left unfinished by a crash are settled from IB's view (open orders, completed orders, executions).
 */
export class KeyLedger {
  private readonly followed = new Map<string, Followed>();
  /** record → store keys following it */
  private readonly byRecord = new Map<OrderRecord, Set<string>>();

  constructor(
    private readonly o: {
      store: IdempotencyStore;
      service: OrderService;
      reconciler: Reconciler;
      journal: JournalSync;
      projection: OrderProjection;
      connState: () => string;
      log: Logger;
    },
  ) {
    o.service.mirror.orders.onEvent((_e, rec) => {
      const keys = this.byRecord.get(rec);
      if (keys !== undefined) for (const k of [...keys]) this.judgeFollowed(k);
    });
    o.reconciler.onReconciled(() => this.afterReconcile());
  }

  get service(): OrderService {
    return this.o.service;
  }

  follows(storeKey: string): boolean {
    return this.followed.has(storeKey);
  }

  get size(): number {
    return this.followed.size;
  }

  /** Stores IB's decision, or starts following the order when IB has not decided (silent, lost). */
  async record(key: KeyHold, f: Flight, outcome: Outcome): Promise<void> {
    if (outcome.kind === 'answered' || outcome.kind === 'refused') {
      await this.o.store.complete(key.storeKey, responseOf(outcome));
      return;
    }
    this.follow(key, f.watches);
  }

  /**
   * The orders IB holds under this key's orderRef (open, completed or executed), once the session is
   * reconciled; undefined when IB has none. Throws 503 when IB cannot be asked before the deadline.
   */
  async lookup(key: KeyHold, d: Deadline): Promise<OrderRecord[] | undefined> {
    if (!(await this.o.reconciler.whenReconciled(d.deadlineAt))) throw this.unsettledError();
    const ids = this.o.service.mirror.orders.findByOrderRef(key.orderRef);
    if (ids === undefined) return undefined;
    return ids.map((id) => this.recordOf(id));
  }

  /** Answers a key with the order IB already holds under it (found by lookup). */
  async adopt(key: KeyHold, records: OrderRecord[], d: Deadline): Promise<StoredResponse> {
    const watches = watchesFor(key.meta, records);
    const { shape, successStatus } = key.meta;
    // Followed from the start: whatever happens below, the key is never left owned by nobody.
    this.follow(key, watches);
    const outcome = await evidenceOutcome(this.o.service, watches, 'place_order', d, shape, successStatus);
    if ((outcome.kind === 'answered' || outcome.kind === 'refused') && this.followed.has(key.storeKey)) {
      this.unfollow(key.storeKey);
      await this.o.store.complete(key.storeKey, responseOf(outcome));
    }
    return responseOf(outcome);
  }

  /** A key whose order could not be looked up yet (IB not reconciled): settled after the next reconciliation. */
  unsettled(key: KeyHold): void {
    this.followed.set(key.storeKey, { key });
  }

  /**
   * A retry of a followed key: the order's current state, waiting for IB's word within the retry's deadline.
   * Undefined when IB never had the order: the key was released and the caller places it anew.
   */
  async answer(storeKey: string, d: Deadline): Promise<StoredResponse | undefined> {
    const entry = this.followed.get(storeKey)!;
    if (entry.watches === undefined) {
      const reconciled = await this.o.reconciler.whenReconciled(d.deadlineAt);
      if (!reconciled) return responseOf({ kind: 'lost', error: this.unsettledError() });
      if (this.followed.get(storeKey) !== entry) return this.o.store.get(storeKey)?.response ?? undefined;
      const ids = this.o.service.mirror.orders.findByOrderRef(entry.key.orderRef);
      if (ids === undefined) {
        await this.release(entry);
        return undefined;
      }
      this.unfollow(storeKey);
      return this.adopt(
        entry.key,
        ids.map((id) => this.recordOf(id)),
        d,
      );
    }
    if (entry.watches.some((w) => !w.record.acknowledged) && !this.o.reconciler.reconciled) {
      // Sent, then the session ended: only the next reconciliation tells whether IB has it.
      const reconciled = await this.o.reconciler.whenReconciled(d.deadlineAt);
      if (!reconciled) return responseOf({ kind: 'lost', error: this.unsettledError() });
      if (this.followed.get(storeKey) !== entry) return this.o.store.get(storeKey)?.response;
    }
    const { meta } = entry.key;
    const op = operationOf(meta);
    const outcome = await evidenceOutcome(this.o.service, entry.watches, op, d, meta.shape, meta.successStatus);
    if (this.followed.get(storeKey) === entry && (outcome.kind === 'answered' || outcome.kind === 'refused')) {
      this.unfollow(storeKey);
      await this.o.store.complete(storeKey, responseOf(outcome));
    }
    if (!this.followed.has(storeKey) && outcome.kind !== 'answered' && outcome.kind !== 'refused') {
      // Settled meanwhile (released after reconciliation, or completed by an IB event).
      const rec = this.o.store.get(storeKey);
      return rec?.response;
    }
    return responseOf(outcome);
  }

  private follow(key: KeyHold, watches: Watch[]): void {
    this.followed.set(key.storeKey, { key, watches });
    for (const w of watches) {
      const set = this.byRecord.get(w.record) ?? new Set<string>();
      set.add(key.storeKey);
      this.byRecord.set(w.record, set);
    }
    this.judgeFollowed(key.storeKey);
  }

  private unfollow(storeKey: string): void {
    const entry = this.followed.get(storeKey);
    if (entry === undefined) return;
    this.followed.delete(storeKey);
    for (const w of entry.watches ?? []) {
      const set = this.byRecord.get(w.record);
      set?.delete(storeKey);
      if (set?.size === 0) this.byRecord.delete(w.record);
    }
  }

  /** IB spoke about a followed order: store its decision once there is one. */
  private judgeFollowed(storeKey: string): void {
    const entry = this.followed.get(storeKey);
    if (entry?.watches === undefined) return;
    const { meta } = entry.key;
    const v = judgeAll(entry.watches, operationOf(meta));
    if (v.kind === 'pending') {
      if (v.settling) setTimeout(() => this.settleQuietly(storeKey, entry), 60).unref();
      return;
    }
    const records = entry.watches.map((w) => w.record);
    const outcome: Outcome =
      v.kind === 'answered'
        ? { kind: 'answered', status: meta.successStatus, body: answerBody(records, meta.shape) }
        : { kind: 'refused', error: withOrders(v.error, records, meta.shape) };
    this.unfollow(storeKey);
    this.store(storeKey, responseOf(outcome));
  }

  private settleQuietly(storeKey: string, entry: Followed): void {
    if (this.followed.get(storeKey) !== entry || entry.watches === undefined) return;
    const { meta } = entry.key;
    const v = judgeAll(entry.watches, operationOf(meta));
    if (v.kind !== 'pending' || !v.settling) return this.judgeFollowed(storeKey);
    const records = entry.watches.map((w) => w.record);
    const cancelled = meta.want === 'filled';
    this.unfollow(storeKey);
    const first = records[0]!;
    const outcome: Outcome = cancelled
      ? { kind: 'refused', error: new OrderCancelledError(first.orderId, first.status) }
      : { kind: 'answered', status: meta.successStatus, body: answerBody(records, meta.shape) };
    this.store(storeKey, responseOf(outcome));
  }

  private store(storeKey: string, response: StoredResponse): void {
    const warn = (err: unknown) => this.o.log.warn({ err }, 'could not store a followed key’s answer');
    this.o.store.complete(storeKey, response).catch(warn);
  }

  /**
   * Lets a followed key go (IB never received its order): the retry places it. If the store cannot write,
   * the key stays followed (unsettled) and the next reconciliation tries again: never owned by nobody.
   */
  private async release(entry: Followed): Promise<void> {
    const { storeKey } = entry.key;
    this.unfollow(storeKey);
    try {
      await this.o.store.release(storeKey);
    } catch (err) {
      this.followed.set(storeKey, { key: entry.key });
      throw err;
    }
  }

  private unsettledError() {
    return unsettledKeyError(this.o.service, this.o.connState());
  }

  /**
   * After a reconciliation: placeholders IB never acknowledged are not orders (their keys are released, the
   * journal says so); followed keys are judged on IB's fresh view; keys a crash left are settled if IB has
   * their order.
   */
  private async afterReconcile(): Promise<void> {
    const orders = this.o.service.mirror.orders;
    for (const [storeKey, entry] of [...this.followed]) {
      try {
        if (entry.watches === undefined) {
          const ids = orders.findByOrderRef(entry.key.orderRef);
          if (ids === undefined) await this.release(entry);
          else
            this.follow(
              entry.key,
              watchesFor(
                entry.key.meta,
                ids.map((id) => this.recordOf(id)),
              ),
            );
          continue;
        }
        const missing = entry.watches.filter((w) => !w.record.acknowledged);
        if (missing.length === 0) {
          this.judgeFollowed(storeKey);
          continue;
        }
        // Look again by orderRef: IB may list the order under a record the placeholder did not meet.
        const ids = orders.findByOrderRef(entry.key.orderRef);
        if (ids !== undefined && entry.key.meta.method === 'POST') {
          this.unfollow(storeKey);
          this.follow(
            entry.key,
            watchesFor(
              entry.key.meta,
              ids.map((id) => this.recordOf(id)),
            ),
          );
          continue;
        }
        // IB never received it (a modify / cancel IB never answered: a retry sends it again).
        const orderIds = missing.map((w) => w.record.orderId);
        this.o.log.info({ orderIds }, 'IB never received this key’s order: key released');
        await this.release(entry);
      } catch (err) {
        this.o.log.warn({ err }, 'could not settle a followed Idempotency-Key');
      }
    }
    this.sweepPlaceholders();
    await this.settleCrashLeftovers();
  }

  /** Placeholders from an earlier session that IB never acknowledged leave the mirror; the journal says why. */
  private sweepPlaceholders(): void {
    const orders = this.o.service.mirror.orders;
    for (const r of orders.stalePlaceholders()) {
      orders.forget(r);
      this.o.journal
        .append({
          type: 'rejected',
          orderId: r.orderId,
          clientId: r.clientId,
          ...(typeof r.order.orderRef === 'string' ? { orderRef: r.order.orderRef } : {}),
          reconciled: true,
          data: { code: 'NOT_AT_IB', message: 'IB never received this order (the connection was lost while sending)' },
        })
        .catch(() => {});
    }
  }

  /** Keys begun before a crash and never completed: answered from IB's view when IB has their order. */
  private async settleCrashLeftovers(): Promise<void> {
    const orders = this.o.service.mirror.orders;
    for (const record of this.o.store.unresolved()) {
      if (this.followed.has(record.key)) continue;
      const ids = orders.findByOrderRef(record.orderRef);
      if (ids === undefined) continue;
      const claim = await this.o.store.begin(record.key, record.hash);
      if (claim.kind !== 'unknown-outcome') continue;
      const fallback = { method: 'POST', path: '/order', shape: 'single', want: 'submitted', successStatus: 201 };
      const meta = { ...fallback, ...(record.meta ?? {}) } as KeyMeta;
      const key: KeyHold = { storeKey: record.key, raw: record.key, orderRef: record.orderRef, meta };
      this.follow(
        key,
        watchesFor(
          meta,
          ids.map((id) => this.recordOf(id)),
        ),
      );
      if (this.followed.has(record.key)) {
        this.o.log.info({ orderIds: ids.map((i) => i.orderId) }, 'a key left by a restart follows its order at IB');
      }
    }
  }

  /** The mirror's record for IB's ids, or (when it left the bounded mirror) one rebuilt from the journal. */
  private recordOf(id: { orderId: number; clientId?: number; permId?: number }): OrderRecord {
    const orders = this.o.service.mirror.orders;
    const r = (id.permId ? orders.getByPermId(id.permId) : undefined) ?? orders.get(id.orderId, id.clientId);
    if (r !== undefined) return r;
    const view = this.o.projection.get(id);
    return {
      orderId: id.orderId,
      ...(id.clientId === undefined ? {} : { clientId: id.clientId }),
      ...(id.permId === undefined ? {} : { permId: id.permId }),
      acknowledged: true,
      ibMessages: 1,
      contract: {},
      order: {},
      status: view?.status ?? 'Submitted',
      filled: 0,
      remaining: 0,
      avgFillPrice: 0,
      history: [],
      fills: [],
      errors: [],
      updatedAt: new Date().toISOString(),
    };
  }
}

function watchesFor(meta: KeyMeta, records: OrderRecord[]): Watch[] {
  const want = meta.method === 'POST' ? meta.want : meta.method === 'DELETE' ? 'cancelled' : 'modified';
  // IB's whole history counts: a refusal before the crash is the answer.
  return records.map((record, i) => ({
    record,
    want: i === 0 || want !== 'filled' ? want : 'submitted',
    errorsFrom: 0,
    messagesFrom: want === 'modified' ? record.ibMessages - 1 : 0,
  }));
}

function operationOf(meta: KeyMeta): string {
  return meta.method === 'POST' ? 'place_order' : meta.method === 'DELETE' ? 'cancel_order' : 'modify_order';
}

export function responseOf(outcome: Outcome): StoredResponse {
  if (outcome.kind === 'answered') {
    return { status: outcome.status, body: outcome.body, ...(outcome.headers ? { headers: outcome.headers } : {}) };
  }
  const e = outcome.error;
  const headers = e.retryAfter === undefined ? {} : { headers: { 'Retry-After': String(e.retryAfter) } };
  return { status: e.status, body: e.toJSON(), ...headers };
}
