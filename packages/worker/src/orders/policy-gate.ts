import type { Logger } from '@ibrest/common';
import {
  evaluateOrderPolicy,
  policyForKey,
  PolicyRefusedError,
  type AuditLog,
  type OrderAction,
  type OrderPolicy,
  type OrderPolicyConfig,
  type OrderPolicyRequest,
} from '@ibrest/order-safety';
import { deadlineIn, type Deadline } from '../ib/deadline.js';
import type { MarketDataService } from '../ib/market-data.js';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData, Fields } from '../state/types.js';

/** How long a policy check may wait for a last price when the request's own deadline is unknown. */
const PRICE_DEADLINE_MS = 3000;

export interface PolicyCheck {
  action: OrderAction;
  /** The audit log's action name when it differs from the policy action (global-cancel). */
  auditAction?: string;
  contract?: ContractData;
  order?: Fields;
  orderId?: number;
  apiKeyName?: string;
  reqId?: string;
  idempotencyKey?: string;
  deadline?: Deadline;
}

/**
 * The safety policy on the order path: the key's rule (ORDER_POLICY / ORDER_POLICY_FILE, by the API key
 * name the proxy forwards) decides each operation before anything is sent. A last price is fetched only
 * when a rule needs it (a notional limit without a limit price, a price band with one), as a fresh
 * market-data snapshot: a portfolio mark can be a day old. Every decision,
 * accepted or refused, is made durable in the audit log before the answer, and counted.
 */
export class PolicyGate {
  constructor(
    private readonly o: {
      config: OrderPolicyConfig;
      audit: AuditLog;
      marketData: MarketDataService;
      log: Logger;
      metrics?: WorkerMetrics;
    },
  ) {}

  /** Decides and waits until the decision is durable in the audit log; a refusal throws {@link PolicyRefusedError}. */
  async check(c: PolicyCheck): Promise<void> {
    await (
      await this.begin(c)
    ).recorded;
  }

  /**
   * Decides and starts the audit record. A refusal waits for its record, then throws; an acceptance returns
   * at once with `recorded` (resolves once the record is durable), so the caller can overlap that sync with
   * its own durable writes instead of paying for the two one after the other. The caller must await
   * `recorded` before it answers or sends anything.
   */
  async begin(c: PolicyCheck): Promise<{ recorded: Promise<void> }> {
    const policy = policyForKey(this.o.config, c.apiKeyName);
    const request = policyRequest(c);
    const lastPrice =
      needsPrice(policy, request) && c.contract ? await this.lastPrice(c.contract, c.deadline) : undefined;
    const decision = evaluateOrderPolicy(policy, request, lastPrice === undefined ? {} : { lastPrice });
    const code = decision.allowed ? undefined : decision.code;
    this.o.metrics?.policyDecisions.inc({ decision: decision.allowed ? 'accepted' : 'refused', code: code ?? 'none' });
    const recorded = this.o.audit.record({
      action: c.auditAction ?? c.action,
      decision: decision.allowed ? 'accepted' : 'refused',
      ...(c.apiKeyName === undefined ? {} : { apiKeyName: c.apiKeyName }),
      ...(code === undefined ? {} : { code }),
      ...(decision.allowed ? {} : { reason: decision.message }),
      ...(c.reqId === undefined ? {} : { reqId: c.reqId }),
      ...(c.idempotencyKey === undefined ? {} : { idempotencyKey: c.idempotencyKey }),
      order: {
        ...(c.orderId === undefined ? {} : { orderId: c.orderId }),
        ...pickDefined({
          symbol: request.symbol,
          secType: request.secType,
          side: request.side,
          quantity: request.quantity,
          orderType: request.orderType,
          limitPrice: request.limitPrice,
          currency: request.currency,
        }),
      },
    });
    if (!decision.allowed) {
      await recorded;
      this.o.log.info(
        { reqId: c.reqId, apiKeyName: c.apiKeyName, code, orderId: c.orderId },
        'order refused by policy',
      );
      throw new PolicyRefusedError(decision);
    }
    // Awaited later by the caller, or never when an earlier step fails (the key claim on a full disk): the promise
    // handed out must not count as an unhandled rejection and crash the worker.
    const done = recorded.then(() => undefined);
    done.catch(() => undefined);
    return { recorded: done };
  }

  private async lastPrice(contract: ContractData, deadline?: Deadline): Promise<number | undefined> {
    try {
      const snap = await this.o.marketData.snapshot(contract, '', deadline ?? deadlineIn(PRICE_DEADLINE_MS));
      const t = snap.ticks;
      const last = num(t.LAST) ?? num(t.DELAYED_LAST);
      if (last !== undefined) return last;
      const bid = num(t.BID);
      const ask = num(t.ASK);
      if (bid !== undefined && ask !== undefined) return (bid + ask) / 2;
      return num(t.CLOSE) ?? num(t.DELAYED_CLOSE);
    } catch (err) {
      // Fail closed: the policy refuses with POLICY_PRICE_UNAVAILABLE.
      this.o.log.warn({ err, symbol: contract.symbol }, 'no last price for the policy check');
      return undefined;
    }
  }
}

function policyRequest(c: PolicyCheck): OrderPolicyRequest {
  const ct = c.contract ?? {};
  const o = c.order ?? {};
  const multiplier = Number(ct.multiplier);
  return {
    action: c.action,
    ...pickDefined({
      symbol: typeof ct.symbol === 'string' ? ct.symbol : undefined,
      secType: typeof ct.secType === 'string' ? ct.secType : undefined,
      currency: typeof ct.currency === 'string' ? ct.currency : undefined,
      side: typeof o.action === 'string' ? o.action : undefined,
      quantity: num(o.totalQuantity),
      orderType: typeof o.orderType === 'string' ? o.orderType : undefined,
      limitPrice: num(o.lmtPrice),
      multiplier: Number.isFinite(multiplier) && multiplier > 0 ? multiplier : undefined,
    }),
  };
}

function needsPrice(p: OrderPolicy, r: OrderPolicyRequest): boolean {
  if (r.action === 'cancel') return false;
  return (
    (p.maxNotional !== undefined && r.limitPrice === undefined) ||
    (p.priceBandPercent !== undefined && r.limitPrice !== undefined)
  );
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function pickDefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
