import { ApiError, type Logger } from '@ibrest/common';
import {
  assertValidIdempotencyKey,
  IdempotencyKeyReusedError,
  requestHash,
  type IdempotencyStore,
  type StoredResponse,
} from '@ibrest/order-safety';
import { DeadlineExceededError, IbNotReadyError } from '../errors.js';
import type { Deadline } from '../ib/deadline.js';
import type { RouteContext, RouteDef, RouteResult } from '../http/route.js';
import type { WorkerMetrics } from '../metrics.js';
import { orderJson } from '../routes/schemas.js';
import type { Mirror } from '../state/mirror.js';
import type { OrderRecord } from '../state/types.js';
import type { JournalSync } from './journal-sync.js';
import type { Reconciler } from './reconciler.js';
import { headerValue, orderRequestContext, type OrderRequestContext } from './request-context.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const API_KEY_HEADER = 'x-ibrest-key';

/** What is kept with a key so that a response can be rebuilt from IB's view after a crash. */
interface KeyMeta {
  apiKeyName?: string;
  method: string;
  path: string;
  /** The request placed a list (bracket / OCA): the answer is `{ orders: [...] }`. */
  list: boolean;
  successStatus: number;
}

/**
 * Idempotency-Key on the order write routes. The key (scoped by the API key name, so two callers never
 * share one) is claimed durably before the handler runs; `beforeSend` then makes the order id durable
 * and stamps `orderRef` before any byte goes to IB. Outcomes:
 * - answered (success or an error after IB saw the order): the response is stored and replayed to every
 *   retry for ≥ 24 h, with `Idempotent-Replayed: true`;
 * - refused before anything reached IB (validation, policy, pacing, not ready): the key is released;
 * - connection lost after sending (the order may or may not be at IB): the key stays claimed and is
 *   settled after the next reconciliation by looking the order up by its orderRef;
 * - a key left unfinished by a crash ('unknown-outcome'): looked up by orderRef among open orders,
 *   completed orders and executions once the session is reconciled, and only placed if IB never saw it.
 */
export class IdempotentOrders {
  /** store key → what to rebuild once reconciliation can tell whether the order reached IB */
  private readonly unsettled = new Map<string, { orderRef: string; meta: KeyMeta }>();

  constructor(
    private readonly o: {
      store: IdempotencyStore;
      mirror: Mirror;
      reconciler: Reconciler;
      retryAfterSeconds: () => number;
      journal: JournalSync;
      clientId: () => number;
      connState: () => string;
      log: Logger;
      metrics?: WorkerMetrics;
    },
  ) {
    o.reconciler.onReconciled(() => this.settle());
  }

  /** The route with Idempotency-Key support; every order write also runs inside an order request context. */
  wrap(route: RouteDef): RouteDef {
    const successStatus = route.successStatus ?? 200;
    return {
      ...route,
      description: `${route.description ? `${route.description} ` : ''}Send \`Idempotency-Key\` to make retries safe: a retry replays the first answer (\`Idempotent-Replayed: true\`).`,
      errors: { ...route.errors, 400: [...(route.errors[400] ?? []), 'IDEMPOTENCY_KEY_INVALID'], 409: [...(route.errors[409] ?? []), 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_RELEASED'] },
      handle: (ctx) => this.handle(route, successStatus, ctx),
    };
  }

  private async handle(route: RouteDef, successStatus: number, ctx: RouteContext): Promise<RouteResult> {
    const apiKeyName = headerValue(ctx.headers, API_KEY_HEADER);
    const rc: OrderRequestContext = { reqId: ctx.reqId, attached: false, sent: 0, deadline: ctx.deadline, ...(apiKeyName === undefined ? {} : { apiKeyName }) };
    const raw = headerValue(ctx.headers, IDEMPOTENCY_HEADER);
    const run = async (): Promise<RouteResult> => {
      try {
        return await orderRequestContext.run(rc, () => route.handle(ctx));
      } catch (err) {
        // Accepted into the journal, then stopped before any byte went to IB (pacing, connection lost).
        if (rc.attached && rc.sent === 0) {
          const code = err instanceof ApiError ? err.code : 'INTERNAL_ERROR';
          for (const orderId of rc.orderIds ?? []) this.o.journal.append({ type: 'rejected', orderId, clientId: this.o.clientId(), data: { code, beforeSending: true } }).catch(() => {});
        }
        throw err;
      }
    };
    if (raw === undefined) return run();
    assertValidIdempotencyKey(raw);
    // One namespace per API key: two callers choosing the same key must not see each other's orders.
    const key = apiKeyName === undefined ? raw : `${apiKeyName}:${raw}`;
    assertValidIdempotencyKey(key);
    const path = route.path.replace(/:(\w+)/g, (_, name: string) => String(ctx.params[name]));
    const meta: KeyMeta = { method: route.method.toUpperCase(), path, list: Array.isArray(ctx.body), successStatus, ...(apiKeyName === undefined ? {} : { apiKeyName }) };
    const hash = requestHash(meta.method, path, ctx.body ?? null);
    const claim = await this.o.store.begin(key, hash, meta as unknown as Record<string, unknown>);
    switch (claim.kind) {
      case 'replay':
        return this.replay(claim.response);
      case 'in-flight':
        return this.replay(await beforeDeadline(claim.wait(), ctx.deadline));
      case 'conflict':
        this.o.metrics?.idempotencyConflicts.inc();
        throw new IdempotencyKeyReusedError(raw);
      case 'unknown-outcome': {
        rc.idempotencyKey = key;
        rc.orderRef = claim.orderRef;
        if (meta.method === 'POST') {
          const found = await this.lookupWhenReconciled(key, claim.orderRef, meta, ctx.deadline);
          if (found !== undefined) {
            const response = responseFor(found, meta);
            await this.o.store.complete(key, response);
            ctx.log.info({ idempotencyKey: raw, orderId: found[0]!.orderId }, 'unfinished idempotent order found at IB; not placing again');
            return this.replay(response);
          }
        }
        // IB never saw it (or a modify/cancel, which IB applies idempotently): run it now.
        return this.runOwned(key, rc, run, meta);
      }
      case 'new':
        rc.idempotencyKey = key;
        rc.orderRef = claim.orderRef;
        return this.runOwned(key, rc, run, meta);
    }
  }

  private async runOwned(key: string, rc: OrderRequestContext, run: () => Promise<RouteResult> | RouteResult, meta: KeyMeta): Promise<RouteResult> {
    let result: RouteResult;
    try {
      result = await run();
    } catch (err) {
      await this.settleError(key, rc, err, meta);
      throw err;
    }
    await this.o.store.complete(key, { status: result.status ?? meta.successStatus, body: result.body, ...(result.headers ? { headers: result.headers } : {}) });
    return result;
  }

  private async settleError(key: string, rc: OrderRequestContext, err: unknown, meta: KeyMeta): Promise<void> {
    if (rc.sent === 0) {
      // Nothing reached IB (validation, policy, pacing, not ready, lost before sending): a retry starts fresh.
      await this.o.store.release(key);
      return;
    }
    const e = err instanceof ApiError ? err : undefined;
    if (e === undefined || e.status >= 500) {
      // Sent, then the connection went or the deadline passed: IB may or may not have the order. A 5xx is never
      // a final answer: the key stays open (a retry looks the order up) and is settled after reconciliation.
      const headers = e?.retryAfter === undefined ? {} : { headers: { 'Retry-After': String(e.retryAfter) } };
      const transient = e === undefined ? undefined : { status: e.status, body: e.toJSON(), ...headers };
      this.o.store.park(key, transient);
      this.unsettled.set(key, { orderRef: rc.orderRef!, meta });
      return;
    }
    // IB answered (rejected, not modifiable …): that is the answer.
    await this.o.store.complete(key, { status: e.status, body: e.toJSON(), ...(e.retryAfter === undefined ? {} : { headers: { 'Retry-After': String(e.retryAfter) } }) });
  }

  /** The stored answer verbatim (an error answer too: same status, envelope and Retry-After). */
  private replay(response: StoredResponse): RouteResult {
    this.o.metrics?.idempotentReplays.inc();
    return { status: response.status, headers: { ...response.headers, [REPLAYED_HEADER]: 'true' }, body: response.body };
  }

  /** The records of the order(s) stamped with `orderRef`, once the session is reconciled. */
  private async lookupWhenReconciled(key: string, orderRef: string, meta: KeyMeta, deadline: Deadline): Promise<OrderRecord[] | undefined> {
    if (!(await this.o.reconciler.whenReconciled(deadline.deadlineAt))) {
      // Keep the key claimed: whether IB has the order is settled after the next reconciliation.
      this.unsettled.set(key, { orderRef, meta });
      throw new IbNotReadyError(this.o.connState(), this.o.retryAfterSeconds(), { idempotencyKeyUnsettled: true });
    }
    return this.find(orderRef);
  }

  /** Orders carrying `orderRef` in the mirror (open, completed) or in its executions. */
  private find(orderRef: string): OrderRecord[] | undefined {
    const { mirror } = this.o;
    const found = new Set<OrderRecord>(mirror.orders.all().filter((r) => r.order.orderRef === orderRef));
    for (const e of mirror.executions.query()) {
      if (e.execution.orderRef !== orderRef) continue;
      const r = (e.execution.permId ? mirror.orders.getByPermId(e.execution.permId) : undefined) ?? mirror.orders.get(e.execution.orderId ?? 0, e.execution.clientId);
      if (r !== undefined) found.add(r);
    }
    return found.size === 0 ? undefined : [...found].sort((a, b) => a.orderId - b.orderId);
  }

  /**
   * After each reconciliation: keys whose request lost the connection after sending are completed with
   * the order's state if IB has it, else released (IB never saw it; a retry places it). Keys left by a
   * crash are completed when their order is found; the others wait for their retry (unknown-outcome).
   */
  private async settle(): Promise<void> {
    for (const [key, { orderRef, meta }] of [...this.unsettled]) {
      this.unsettled.delete(key);
      const found = this.find(orderRef);
      try {
        const record = this.o.store.get(key);
        if (record === undefined || record.response !== undefined) continue;
        if (found !== undefined) await this.o.store.settle(key, responseFor(found, meta));
        else await this.o.store.release(key);
      } catch (err) {
        this.o.log.warn({ err }, 'could not settle an idempotency key');
      }
    }
    for (const record of this.o.store.unresolved()) {
      const found = this.find(record.orderRef);
      if (found === undefined) continue;
      const claim = await this.o.store.begin(record.key, record.hash);
      if (claim.kind !== 'unknown-outcome') continue;
      const meta = (record.meta ?? {}) as Partial<KeyMeta>;
      if (meta.method !== undefined && meta.method !== 'POST') {
        await this.o.store.complete(record.key, { status: meta.successStatus ?? 200, body: orderJson(found[0]!) });
      } else await this.o.store.complete(record.key, responseFor(found, { list: false, successStatus: 201, method: 'POST', path: '/order', ...meta }));
      this.o.log.info({ orderId: found[0]!.orderId }, 'unfinished idempotency key settled from IB’s view after restart');
    }
  }
}

/** The answer the first request would have given, rebuilt from the order's current state. */
function responseFor(records: OrderRecord[], meta: KeyMeta): StoredResponse {
  return { status: meta.successStatus, body: meta.list ? { orders: records.map(orderJson) } : orderJson(records[0]!) };
}

/** Waits for the first request's answer, but not past this request's own deadline. */
function beforeDeadline(p: Promise<StoredResponse>, d: Deadline): Promise<StoredResponse> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DeadlineExceededError('idempotent_wait', d.timeoutMs, { inFlight: true })),
      Math.max(0, d.deadlineAt - Date.now()),
    );
    p.then(
      (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
