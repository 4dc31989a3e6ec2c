import type { IncomingHttpHeaders } from 'node:http';
import { CONTRACT_FIELDS } from '@ibrest/contract';
import { ApiError, InvalidRequestError, type Logger } from '@ibrest/common';
import {
  IdempotencyKeyInvalidError,
  IdempotencyKeyReusedError,
  parseIdempotencyKey,
  requestHash,
  type IdempotencyStore,
  type MaintenanceSchedule,
  type OrderEventInput,
  type StoredResponse,
} from '@ibrest/order-safety';
import { DeadlineExceededError, IbConnectionLostError, IbNotReadyError, OrderNotModifiableError } from '../errors.js';
import type { Deadline } from '../ib/deadline.js';
import type { OrderIntent, OrderService } from '../ib/order-service.js';
import type { WorkerMetrics } from '../metrics.js';
import type { FieldError } from '../http/schema.js';
import { contractProblems, orderJson, orderProblems } from '../routes/schemas.js';
import { FINAL_STATUSES } from '../state/orders.js';
import type { ContractData, Fields, OrderRecord } from '../state/types.js';
import type { Want, Watch } from './evidence.js';
import type { JournalSync } from './journal-sync.js';
import type { KeyLedger } from './key-ledger.js';
import type { PolicyGate } from './policy-gate.js';

/**
 * The order path, in one place. Every order write (place, modify, cancel) runs these steps in this order;
 * each is a small function `(flight, next) => outcome` that may act before and after the steps it wraps
 * (the way undici composes interceptors):
 *
 *   maintenance → validate → checkPolicy → claimKey → checkTarget → recordIntent → send → awaitEvidence
 *
 * One rule tells whether IB may have the order, with no state to consult: a step that THROWS guarantees
 * nothing reached IB (the key is released, the journal says `rejected` before sending); a step that
 * RETURNS an outcome comes from `send` or later, so IB may have the order and only IB's evidence decides.
 * The answer is recorded on the way out by `claimKey` (Idempotency-Key) and the journal's live events.
 */
export function orderPipeline(d: OrderPathDeps): Step[] {
  return [
    maintenance(d), // a maintenance window refuses before anything else (no key is claimed)
    validate(), // the request's shape: every offending field in one 400
    checkPolicy(d), // the API key's policy decides; the decision is audited
    claimKey(d), // Idempotency-Key: replay, follow the key's order, or own the key; records the answer
    checkTarget(), // modify / cancel: the order can still change
    recordIntent(d), // order ids, orderRef, placeholders, journal `accepted`: durable before any byte
    send(d), // hand the messages to IB: from here on IB may have the order
    awaitEvidence(d), // IB's openOrder / orderStatus / error decides; silence → 504, the order is followed
  ];
}

/** Runs one order write through the pipeline and turns its outcome into the HTTP answer. */
export async function runOrderCall(
  steps: readonly Step[],
  call: OrderCall,
): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
  const flight = newFlight(call);
  const outcome = await compose(steps, flight);
  if (outcome.kind === 'answered') {
    return { status: outcome.status, body: outcome.body, ...(outcome.headers ? { headers: outcome.headers } : {}) };
  }
  if (outcome.kind === 'refused' && outcome.replayed === true) {
    const e = outcome.error;
    const headers: Record<string, string> = { [REPLAYED_HEADER]: 'true' };
    if (e.retryAfter !== undefined) headers['Retry-After'] = String(e.retryAfter);
    return { status: e.status, body: e.toJSON(), headers };
  }
  throw outcome.error;
}

// ── shapes ─────────────────────────────────

export interface OrderCall {
  op: 'place' | 'modify' | 'cancel';
  method: string;
  /** The concrete path (`/order/12`): part of the Idempotency-Key fingerprint. */
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The headers as received (name, value, name, value …), to tell a repeated Idempotency-Key. */
  rawHeaders?: readonly string[];
  reqId: string;
  deadline: Deadline;
  log: Logger;
  /** modify / cancel: the order addressed (the route resolved the id). */
  target?: OrderRecord;
}

/** One order of a placement: IB's contract and order fields, and what the answer waits for. */
export interface Leg {
  role: 'order' | 'parent' | 'takeProfit' | 'stopLoss' | 'oca';
  contract: ContractData;
  order: Fields;
  want: Want;
}

export interface KeyHold {
  /** The store key (the caller's key scoped by API key name). */
  storeKey: string;
  raw: string;
  orderRef: string;
  meta: KeyMeta;
}

/** What is kept with a key so the answer can be rebuilt from IB's view after a crash. */
export interface KeyMeta {
  method: string;
  path: string;
  /** `group`: a bracket or OCA group, answered as `{ orders: [...] }`. */
  shape: 'single' | 'group';
  want: Want;
  successStatus: number;
  apiKeyName?: string;
}

/** A leg as the request gives it. */
type LegBody = { contract?: ContractData; order?: Fields };

/** Everything one request carries through the steps: explicit, never ambient. */
export interface Flight {
  readonly call: OrderCall;
  readonly apiKeyName?: string;
  /** Set by validate. */
  legs: Leg[];
  shape: 'single' | 'group';
  patch?: { contract?: ContractData; order: Fields };
  /** Set by checkPolicy: audit records, durable before anything is sent. */
  audit: Promise<void>[];
  /** Set by claimKey when the request carries an Idempotency-Key. */
  key?: KeyHold;
  /** Set by recordIntent. */
  sessionId?: number;
  intents: OrderIntent[];
  records: OrderRecord[];
  /** Set by send: what awaitEvidence waits on. */
  watches: Watch[];
}

export type Outcome =
  /** IB's evidence says yes (or a replay of an answer that did). */
  | { kind: 'answered'; status: number; body: unknown; headers?: Record<string, string> }
  /** IB said no: final; the key keeps this answer (`replayed`: a stored refusal answered again). */
  | { kind: 'refused'; error: ApiError; replayed?: boolean }
  /** Sent, no word from IB by the deadline: 504; the key follows the order until IB speaks. */
  | { kind: 'silent'; error: ApiError }
  /** Sent, then the session ended: 503; reconciliation tells whether IB has it. */
  | { kind: 'lost'; error: ApiError };

export type Step = (f: Flight, next: () => Promise<Outcome>) => Promise<Outcome>;

export interface OrderPathDeps {
  service: OrderService;
  store: IdempotencyStore;
  journal: Pick<JournalSync, 'append'>;
  policy: Pick<PolicyGate, 'begin'>;
  schedule: MaintenanceSchedule;
  ledger: KeyLedger;
  /** The clientId orders are placed with now (a lease may move it to a spare). */
  clientId: () => number;
  log: Logger;
  metrics?: WorkerMetrics;
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const API_KEY_HEADER = 'x-ibrest-key';

export function newFlight(call: OrderCall): Flight {
  const apiKeyName = singleHeader(call.headers, API_KEY_HEADER);
  const f: Flight = { call, legs: [], shape: 'single', audit: [], intents: [], records: [], watches: [] };
  return apiKeyName === undefined ? f : { ...f, apiKeyName };
}

/** The single value of a request header (the first if repeated); undefined when absent or empty. */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

export function compose(steps: readonly Step[], f: Flight): Promise<Outcome> {
  const run = (i: number): Promise<Outcome> => {
    const step = steps[i];
    if (step === undefined) return Promise.reject(new Error('the order pipeline ended without an outcome'));
    return step(f, () => run(i + 1));
  };
  return run(0);
}

// ── 1. maintenance ─────────────────────────

export function maintenance(d: Pick<OrderPathDeps, 'schedule' | 'metrics'>): Step {
  return async (_f, next) => {
    const s = d.schedule.currentWindow();
    d.metrics?.maintenanceWindow.set(s.inWindow ? 1 : 0);
    if (s.inWindow) d.schedule.assertAvailable();
    return next();
  };
}

// ── 2. validate ────────────────────────────

/** Order fields IB lets a modify change. Everything else of the live order is fixed. */
export const MODIFIABLE = new Set([
  'totalQuantity',
  'lmtPrice',
  'auxPrice',
  'tif',
  'goodTillDate',
  'goodAfterTime',
  'outsideRth',
  'trailStopPrice',
  'trailingPercent',
  'displaySize',
  'transmit',
  'hidden',
  'minQty',
  'allOrNone',
]);

/**
 * The request's shape, every problem at once: one order `{ contract, order }`, a bracket
 * `{ bracket: { parent, takeProfit?, stopLoss? } }`, an OCA group `{ oca: { ocaGroup?, ocaType?, orders } }`.
 * A modify may change only what IB allows (MODIFIABLE); side, type, account, group and contract are fixed.
 */
export function validate(): Step {
  return async (f, next) => {
    const { call } = f;
    const problems: FieldError[] = [];
    if (call.op === 'place') planPlacement(f, problems);
    else if (call.op === 'modify') planModify(f, problems);
    if (problems.length > 0) {
      const text = problems.map((e) => `${e.field} ${e.message}`).join('; ');
      throw new InvalidRequestError(`Invalid request: ${text}`, { fields: problems });
    }
    return next();
  };
}

function waitOf(f: Flight, order: Fields): Want {
  if (order.transmit === false) return 'staged';
  return f.call.query.wait === 'filled' ? 'filled' : 'submitted';
}

function planPlacement(f: Flight, problems: FieldError[]): void {
  const body = (f.call.body ?? {}) as Record<string, unknown>;
  const shapes = ['order', 'bracket', 'oca'].filter((k) => body[k] !== undefined);
  if (shapes.length !== 1) {
    problems.push({
      field: 'body',
      message: 'must be one of { contract, order }, { bracket: { parent, takeProfit, stopLoss } }, { oca: { orders } }',
    });
    return;
  }
  const problem = (field: string, message: string) => problems.push({ field, message });
  const leg = (l: LegBody | undefined, path: string, role: Leg['role'], defaults?: Leg): Leg | undefined => {
    if (l === undefined) return undefined;
    const contract = { ...(l.contract ?? defaults?.contract ?? {}) } as ContractData;
    const order: Fields = { ...l.order };
    if (defaults !== undefined) {
      const opposite = defaults.order.action === 'BUY' ? 'SELL' : 'BUY';
      order.action ??= opposite;
      order.totalQuantity ??= defaults.order.totalQuantity;
      if (order.action !== opposite) problem(`${path}.order.action`, `must be ${opposite} (opposite to the parent)`);
      for (const k of ['parentId', 'ocaGroup', 'transmit'] as const) {
        if (l.order?.[k] !== undefined) problem(`${path}.order.${k}`, 'is set by the bracket itself');
      }
    } else if (l.contract === undefined) problem(`${path}.contract`, 'is required');
    problems.push(...contractProblems(contract, `${path}.contract`, true), ...orderProblems(order, `${path}.order`));
    for (const k of ['action', 'totalQuantity', 'orderType']) {
      if (order[k] === undefined) problem(`${path}.order.${k}`, 'is required');
    }
    return { role, contract, order, want: 'submitted' };
  };
  if (body.order !== undefined) {
    const one = leg(body as LegBody, 'body', 'order');
    if (one !== undefined) {
      if (one.order.parentId !== undefined) problem('body.order.parentId', 'is set by { bracket } (explicit parents)');
      one.want = waitOf(f, one.order);
      f.legs = [one];
    }
    return;
  }
  f.shape = 'group';
  if (body.bracket !== undefined) {
    const b = body.bracket as { parent?: LegBody; takeProfit?: LegBody; stopLoss?: LegBody };
    const parent = leg(b.parent, 'body.bracket.parent', 'parent');
    if (parent === undefined) {
      problem('body.bracket.parent', 'is required');
      return;
    }
    for (const k of ['parentId', 'ocaGroup'] as const) {
      if (parent.order[k] !== undefined) problem(`body.bracket.parent.order.${k}`, 'is set by the bracket itself');
    }
    const tp = leg(b.takeProfit, 'body.bracket.takeProfit', 'takeProfit', parent);
    const sl = leg(b.stopLoss, 'body.bracket.stopLoss', 'stopLoss', parent);
    if (tp === undefined && sl === undefined) problem('body.bracket', 'needs takeProfit, stopLoss or both');
    const staged = parent.order.transmit === false;
    parent.want = waitOf(f, parent.order);
    f.legs = [parent, ...(tp ? [tp] : []), ...(sl ? [sl] : [])];
    for (const l of f.legs.slice(1)) l.want = staged ? 'staged' : 'submitted';
    return;
  }
  const g = body.oca as { ocaGroup?: string; ocaType?: number; orders?: LegBody[] };
  const list = Array.isArray(g.orders) ? g.orders : [];
  if (list.length < 2) problem('body.oca.orders', 'needs at least 2 orders');
  f.legs = list.flatMap((l, i) => {
    const one = leg(l, `body.oca.orders[${i}]`, 'oca');
    if (one === undefined) return [];
    for (const k of ['parentId', 'ocaGroup', 'ocaType'] as const) {
      if (one.order[k] !== undefined) problem(`body.oca.orders[${i}].order.${k}`, 'is set by the group (body.oca)');
    }
    one.want = waitOf(f, one.order);
    return [one];
  });
}

function planModify(f: Flight, problems: FieldError[]): void {
  const target = f.call.target!;
  const patch = f.call.body as { contract?: ContractData; order: Fields };
  for (const [k, v] of Object.entries(patch.order ?? {})) {
    if (MODIFIABLE.has(k) || sameValue(target.order[k], v)) continue;
    const live = JSON.stringify(target.order[k] ?? null);
    const message = `cannot be changed on a live order (IB keeps ${live}); cancel and place a new order`;
    problems.push({ field: `body.order.${k}`, message });
  }
  for (const [k, v] of Object.entries(patch.contract ?? {})) {
    if (sameValue(target.contract[k], v)) continue;
    problems.push({ field: `body.contract.${k}`, message: 'cannot be changed on a live order; cancel, place anew' });
  }
  const merged = { ...target.order, ...patch.order };
  problems.push(...orderProblems(merged, 'body.order'));
  f.patch = patch;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'string' && typeof b === 'string' && a.toUpperCase() === b.toUpperCase());
}

// ── 3. checkPolicy ─────────────────────────

/** Each order against the API key's policy (a refusal throws 403 once audited); recordIntent awaits the acceptances. */
export function checkPolicy(d: Pick<OrderPathDeps, 'policy'>): Step {
  return async (f, next) => {
    const key = f.apiKeyName === undefined ? {} : { apiKeyName: f.apiKeyName };
    const base = { reqId: f.call.reqId, deadline: f.call.deadline, ...key };
    const t = f.call.target;
    const modified = { ...t?.order, ...f.patch?.order };
    const checks =
      f.call.op === 'place'
        ? f.legs.map((l) => ({ action: 'place' as const, contract: l.contract, order: l.order }))
        : f.call.op === 'modify'
          ? [{ action: 'modify' as const, orderId: t!.orderId, contract: t!.contract, order: modified }]
          : [{ action: 'cancel' as const, orderId: t!.orderId }];
    try {
      for (const c of checks) f.audit.push((await d.policy.begin({ ...base, ...c })).recorded);
    } catch (err) {
      await Promise.allSettled(f.audit);
      throw err;
    }
    return next();
  };
}

// ── 4. claimKey ────────────────────────────

/**
 * Idempotency-Key. Before: a stored answer is replayed; a key whose order is being followed answers with
 * that order's current state; a key left by a crash, or one this store never saw, is first looked up at IB
 * by its orderRef (IB is the second source of truth) and answered with that order if IB has it.
 * After: IB's answer (success or refusal) is stored; a throw (nothing reached IB) releases the key; a
 * silent or lost order keeps the key, which then follows the order until IB says what became of it.
 */
export function claimKey(d: Pick<OrderPathDeps, 'store' | 'ledger' | 'metrics'>): Step {
  return async (f, next) => {
    const raw = idempotencyKeyOf(f.call.headers, f.call.rawHeaders);
    if (raw === undefined) return next();
    const storeKey = f.apiKeyName === undefined ? raw : `${f.apiKeyName}:${raw}`;
    if (storeKey.length > 255) throw new IdempotencyKeyInvalidError(raw);
    const meta: KeyMeta = {
      method: f.call.method.toUpperCase(),
      path: f.call.path,
      shape: f.shape,
      want: f.legs[0]?.want ?? (f.call.op === 'cancel' ? 'cancelled' : 'modified'),
      successStatus: f.call.op === 'place' ? 201 : 200,
      ...(f.apiKeyName === undefined ? {} : { apiKeyName: f.apiKeyName }),
    };
    const hash = fingerprint(f.call);
    let claim = await d.store.begin(storeKey, hash, meta as unknown as Record<string, unknown>);
    for (let again = true; again;) {
      again = false;
      switch (claim.kind) {
        case 'conflict':
          d.metrics?.idempotencyConflicts.inc();
          throw new IdempotencyKeyReusedError(raw);
        case 'replay':
          return replayed(d, claim.response);
        case 'in-flight': {
          if (!d.ledger.follows(storeKey)) {
            // A concurrent duplicate: the first request's answer, within this request's deadline.
            return replayed(d, await beforeDeadline(claim.wait(), f.call.deadline));
          }
          // The key's order is followed here (an earlier 504 or lost connection): its current state answers.
          const current = await d.ledger.answer(storeKey, f.call.deadline);
          if (current !== undefined) return replayed(d, current);
          // IB never received it and the key was released: this request places it.
          claim = await d.store.begin(storeKey, hash, meta as unknown as Record<string, unknown>);
          again = claim.kind !== 'new';
          if (again && claim.kind === 'in-flight' && d.ledger.follows(storeKey)) {
            throw unsettledKeyError(d.ledger.service, 'reconciling');
          }
          break;
        }
        case 'new':
        case 'unknown-outcome':
          break;
      }
    }
    if (claim.kind !== 'new' && claim.kind !== 'unknown-outcome') throw new Error('unreachable idempotency claim');
    f.key = { storeKey, raw, orderRef: claim.orderRef, meta };
    if (f.call.op === 'place') {
      let atIb: OrderRecord[] | undefined;
      try {
        atIb = await d.ledger.lookup(f.key, f.call.deadline);
      } catch (err) {
        // IB could not be asked in time: a new key is let go; a key a crash left is settled after reconciliation.
        if (claim.kind === 'new') await d.store.release(storeKey).catch(() => undefined);
        else d.ledger.unsettled(f.key);
        throw err;
      }
      if (atIb !== undefined) {
        const orderIds = atIb.map((r) => r.orderId);
        f.call.log.info({ orderIds }, 'IB already has this Idempotency-Key’s order; not placing again');
        return replayed(d, await d.ledger.adopt(f.key, atIb, f.call.deadline));
      }
    }
    let outcome: Outcome;
    try {
      outcome = await next();
    } catch (err) {
      await d.store.release(storeKey).catch(() => undefined);
      throw err;
    }
    await d.ledger.record(f.key, f, outcome);
    return outcome;
  };
}

/**
 * The one Idempotency-Key of the request (order-safety's rule: trimmed, 1–255 printable characters; blank or
 * repeated → 400), from the headers as received so that two headers are never joined into one key.
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): string | undefined {
  if (rawHeaders !== undefined) return parseIdempotencyKey(rawHeaders);
  const v = headers[IDEMPOTENCY_HEADER];
  return v === undefined ? undefined : parseIdempotencyKey({ [IDEMPOTENCY_HEADER]: Array.isArray(v) ? v : [v] });
}

/**
 * The request's fingerprint: method, path, the query parameters that change the outcome (all but `timeout`,
 * which only bounds this request's wait) and the body.
 */
export function fingerprint(call: Pick<OrderCall, 'method' | 'path' | 'query' | 'body'>): string {
  return requestHash(call.method, call.path, call.body ?? null, call.query);
}

function replayed(d: Pick<OrderPathDeps, 'metrics'>, response: StoredResponse): Outcome {
  d.metrics?.idempotentReplays.inc();
  if (response.status >= 400) {
    type Envelope = { error?: { code?: string; message?: string; details?: Record<string, unknown>; ibCode?: number } };
    const env = response.body as Envelope;
    const e = env?.error ?? {};
    const retryAfter = response.headers?.['Retry-After'];
    return {
      kind: 'refused',
      replayed: true,
      error: new ApiError(response.status, e.code ?? 'IB_ERROR', e.message ?? 'refused', {
        ...(e.details === undefined ? {} : { details: e.details }),
        ...(e.ibCode === undefined ? {} : { ibCode: e.ibCode }),
        ...(retryAfter === undefined ? {} : { retryAfter: Number(retryAfter) }),
      }),
    };
  }
  const headers = { ...response.headers, [REPLAYED_HEADER]: 'true' };
  return { kind: 'answered', status: response.status, body: response.body, headers };
}

function beforeDeadline<T>(p: Promise<T>, d: Deadline): Promise<T> {
  return new Promise((resolve, reject) => {
    const late = () => reject(new DeadlineExceededError('idempotent_wait', d.timeoutMs, { inFlight: true }));
    const timer = setTimeout(late, Math.max(0, d.deadlineAt - Date.now()));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

// ── 5. checkTarget ─────────────────────────

/** A modify or cancel needs an order IB acknowledged that can still change (after the key: a retry replays). */
export function checkTarget(): Step {
  return async (f, next) => {
    const t = f.call.target;
    if (t !== undefined && FINAL_STATUSES.has(t.status)) throw new OrderNotModifiableError(t.orderId, t.status);
    return next();
  };
}

// ── 6. recordIntent ────────────────────────

const JOURNAL_TYPE = { place: 'accepted', modify: 'modify-requested', cancel: 'cancel-requested' } as const;
/** Order fields sent again with a modify (IB wants the whole order). */
const ORDER_KEYS = [
  'action',
  'totalQuantity',
  'orderType',
  'lmtPrice',
  'auxPrice',
  'tif',
  'ocaGroup',
  'ocaType',
  'account',
  'orderRef',
  'parentId',
  'outsideRth',
  'trailStopPrice',
  'trailingPercent',
  'goodTillDate',
  'goodAfterTime',
  'hidden',
  'displaySize',
  'allOrNone',
  'minQty',
];

/**
 * Turns the plan into IB messages and makes them durable before any byte is sent: order ids (never below
 * any id used), the key's orderRef on every new order, the key's order id, placeholders in the mirror
 * (not orders: IB has not acknowledged them), the journal's `accepted` / `*-requested`, the audit records.
 * If a later step throws (nothing was sent), the journal says so and the placeholders go.
 */
export function recordIntent(d: Pick<OrderPathDeps, 'service' | 'store' | 'journal' | 'clientId'>): Step {
  return async (f, next) => {
    f.sessionId = d.service.assertServing();
    f.intents = intentsOf(f, d.service);
    const clientId = d.clientId();
    try {
      if (f.key !== undefined && f.call.op === 'place') {
        await d.store.attachOrder(f.key.storeKey, f.intents[0]!.orderId);
      }
      const journalled = (it: OrderIntent) => journalEvent(it, JOURNAL_TYPE[it.action], clientId, f.key?.storeKey);
      const accepted = f.intents.map((it) => d.journal.append(journalled(it)));
      await Promise.all([...f.audit, ...accepted]);
    } finally {
      await Promise.allSettled(f.audit);
    }
    const orders = d.service.mirror.orders;
    const place = f.call.op === 'place';
    f.records = place ? f.intents.map((it) => orders.expect(it.orderId, it.contract!, it.order!)) : [f.call.target!];
    try {
      return await next();
    } catch (err) {
      const code = err instanceof ApiError ? err.code : 'INTERNAL_ERROR';
      for (const it of f.intents) {
        const data = { code, beforeSending: true };
        d.journal.append({ type: 'rejected', orderId: it.orderId, clientId, data }).catch(() => {});
      }
      if (f.call.op === 'place') for (const r of f.records) d.service.mirror.orders.forget(r);
      throw err;
    }
  };
}

function intentsOf(f: Flight, service: OrderService): OrderIntent[] {
  const { call } = f;
  if (call.op === 'cancel') return [{ action: 'cancel', orderId: call.target!.orderId }];
  if (call.op === 'modify') {
    const t = call.target!;
    const contract = pick(t.contract, CONTRACT_FIELDS);
    const patch = f.patch!.order;
    const order: Fields = { ...pick(t.order, ORDER_KEYS), ...patch, orderId: t.orderId };
    order.transmit = patch.transmit ?? true;
    return [{ action: 'modify', orderId: t.orderId, contract, order }];
  }
  const ids = service.ids.allocate(f.legs.length);
  const staged = f.legs[0]!.order.transmit === false;
  const group = call.body as { oca?: { ocaGroup?: string; ocaType?: number } };
  return f.legs.map((leg, i) => {
    const order: Fields = { ...leg.order, orderId: ids[i] };
    if (f.key !== undefined) order.orderRef = f.key.orderRef;
    if (leg.role === 'takeProfit' || leg.role === 'stopLoss') order.parentId = ids[0];
    if (leg.role === 'parent' || leg.role === 'takeProfit' || leg.role === 'stopLoss') {
      // IB's bracket rule: nothing goes live until the last child arrives with transmit=true.
      order.transmit = !staged && i === f.legs.length - 1;
    } else if (leg.role === 'oca') {
      order.ocaGroup = group.oca?.ocaGroup ?? `oca-${ids[0]}`;
      order.ocaType = group.oca?.ocaType ?? 1;
      order.transmit ??= true;
    } else order.transmit ??= true;
    return { action: 'place', orderId: ids[i]!, contract: { ...leg.contract }, order };
  });
}

function journalEvent(it: OrderIntent, type: OrderEventInput['type'], clientId: number, idempotencyKey?: string) {
  const orderRef = it.order?.orderRef;
  const intent = it.contract || it.order ? { contract: it.contract, order: it.order } : undefined;
  const data = type === 'sent' ? { action: it.action } : intent;
  return {
    type,
    orderId: it.orderId,
    clientId,
    ...(typeof orderRef === 'string' && orderRef !== '' ? { orderRef } : {}),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(data === undefined ? {} : { data }),
  } satisfies OrderEventInput;
}

function pick(o: Fields, keys: readonly string[]): Fields {
  const out: Fields = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== '') out[k] = o[k];
  return out;
}

// ── 7. send ────────────────────────────────

/**
 * Hands each message to IB and journals `sent`. A failure before the first message throws (nothing
 * reached IB); after it, the outcome is `lost` (IB may hold part of the group; reconciliation decides).
 */
export function send(d: Pick<OrderPathDeps, 'service' | 'journal' | 'clientId'>): Step {
  return async (f, next) => {
    const clientId = d.clientId();
    f.watches = f.records.map((record, i) => ({
      record,
      want: f.call.op === 'cancel' ? 'cancelled' : f.call.op === 'modify' ? 'modified' : f.legs[i]!.want,
      errorsFrom: record.errors.length,
      messagesFrom: record.ibMessages,
    }));
    let sent = 0;
    for (const it of f.intents) {
      try {
        await d.service.send(f.sessionId!, it, f.call.deadline);
      } catch (err) {
        if (sent === 0) throw err;
        const lost = new IbConnectionLostError(`${it.action}_order`, d.service.retryAfterSeconds());
        return { kind: 'lost', error: err instanceof ApiError ? err : lost };
      }
      sent++;
      d.journal.append(journalEvent(it, 'sent', clientId)).catch(() => {});
    }
    return next();
  };
}

// ── 8. awaitEvidence ───────────────────────

/** Waits for IB's evidence on every order of the request and turns it into the outcome. */
export function awaitEvidence(d: Pick<OrderPathDeps, 'service'>): Step {
  return async (f) => {
    const operation = `${f.call.op}_order`;
    const status = f.call.op === 'place' ? 201 : 200;
    return evidenceOutcome(d.service, f.watches, operation, f.call.deadline, f.shape, status, f.sessionId);
  };
}

/** IB's evidence on `watches` as an outcome (also used to answer a followed or adopted key). */
export async function evidenceOutcome(
  service: OrderService,
  watches: readonly Watch[],
  operation: string,
  deadline: Deadline,
  shape: 'single' | 'group',
  successStatus: number,
  sessionId?: number,
): Promise<Outcome> {
  const result = await service.evidence(watches, operation, deadline);
  const records = watches.map((w) => w.record);
  switch (result.kind) {
    case 'answered':
      return { kind: 'answered', status: successStatus, body: answerBody(records, shape) };
    case 'refused': {
      // A group is all or nothing: legs IB holds are cancelled when one of them is refused.
      if (records.length > 1 && sessionId !== undefined) {
        service.cancelQuietly(
          sessionId,
          records.filter((r) => r.acknowledged && !FINAL_STATUSES.has(r.status)),
        );
      }
      return { kind: 'refused', error: withOrders(result.error, records, shape) };
    }
    case 'silent':
      return {
        kind: 'silent',
        error: new DeadlineExceededError(operation, deadline.timeoutMs, {
          orderId: records[0]?.orderId,
          acknowledged: records.every((r) => r.acknowledged),
          waitingFor: watches[0]?.want,
          ...orderDetails(records, shape),
        }),
      };
    case 'lost':
      return { kind: 'lost', error: new IbConnectionLostError(operation, service.retryAfterSeconds()) };
  }
}

export function answerBody(records: readonly OrderRecord[], shape: 'single' | 'group'): unknown {
  return shape === 'group' ? { orders: records.map(orderJson) } : orderJson(records[0]!);
}

function orderDetails(records: readonly OrderRecord[], shape: 'single' | 'group'): Record<string, unknown> {
  return shape === 'group' ? { orders: records.map(orderJson) } : { order: orderJson(records[0]!) };
}

/** The refusal with the orders' state in its details (IB's code and text stay as they are). */
export function withOrders(e: ApiError, records: readonly OrderRecord[], shape: 'single' | 'group'): ApiError {
  return new ApiError(e.status, e.code, e.message, {
    details: { ...e.details, orderId: records[0]?.orderId, ...orderDetails(records, shape) },
    ...(e.ibCode === undefined ? {} : { ibCode: e.ibCode }),
    ...(e.retryAfter === undefined ? {} : { retryAfter: e.retryAfter }),
  });
}

/** 503 for a key whose order's fate is unknown until the session is reconciled. */
export function unsettledKeyError(service: OrderService, state: string): ApiError {
  return new IbNotReadyError(state, service.retryAfterSeconds(), { idempotencyKeyUnsettled: true });
}
