import { ApiError } from '@ibrest/common';

/** The limits that apply to one API key. An absent limit means "no limit". */
export interface OrderPolicy {
  /** Refuse every order write (place, modify, cancel); what-if previews stay allowed. */
  readOnly: boolean;
  /** Allowed contract symbols, upper case. */
  symbols?: readonly string[];
  /** Allowed IB secTypes (STK, OPT, FUT, CASH …). */
  secTypes?: readonly string[];
  /** Largest quantity per order (shares, contracts). */
  maxQuantity?: number;
  /** Largest quantity × price × multiplier per order, in the contract's currency. */
  maxNotional?: number;
  /** Largest distance of a limit price from the last price, in percent of the last price. */
  priceBandPercent?: number;
}

/** No limits at all: what applies when no policy is configured. */
export const PERMISSIVE_POLICY: OrderPolicy = Object.freeze({ readOnly: false });

export type OrderAction = 'place' | 'modify' | 'cancel' | 'whatif';

/** The order facts the policy looks at, taken from the request (and the existing order for a modify). */
export interface OrderPolicyRequest {
  action: OrderAction;
  symbol?: string;
  secType?: string;
  side?: string;
  /** totalQuantity (the new total for a modify). */
  quantity?: number;
  orderType?: string;
  /** lmtPrice, for order types that carry one. */
  limitPrice?: number;
  /** Contract multiplier (options 100, futures vary). @default 1 */
  multiplier?: number;
  currency?: string;
}

export interface MarketSnapshot {
  /** Last traded price (or the best reference the caller has: mid, close). */
  lastPrice?: number;
}

export const POLICY_CODES = {
  readOnly: 'POLICY_READ_ONLY',
  secType: 'POLICY_SECTYPE_NOT_ALLOWED',
  symbol: 'POLICY_SYMBOL_NOT_ALLOWED',
  quantity: 'POLICY_QUANTITY_LIMIT',
  notional: 'POLICY_NOTIONAL_LIMIT',
  priceBand: 'POLICY_PRICE_BAND',
  priceUnavailable: 'POLICY_PRICE_UNAVAILABLE',
} as const;
export type PolicyCode = (typeof POLICY_CODES)[keyof typeof POLICY_CODES];

export type PolicyDecision =
  { allowed: true } | { allowed: false; code: PolicyCode; message: string; details: Record<string, unknown> };

/** 403: the order was refused by the key's safety policy; `code` says which rule. */
export class PolicyRefusedError extends ApiError {
  constructor(decision: Extract<PolicyDecision, { allowed: false }>) {
    super(403, decision.code, decision.message, { details: decision.details });
  }
}

const ALLOWED: PolicyDecision = Object.freeze({ allowed: true });

function refuse(code: PolicyCode, message: string, details: Record<string, unknown>): PolicyDecision {
  return { allowed: false, code, message, details };
}

/**
 * Decides one order operation. Checks run in a fixed order (read-only, secType, symbol, quantity, notional,
 * price band) and the first refusal wins, so a caller always sees the most basic reason. Missing facts fail
 * closed: a limit that cannot be checked (no symbol under a symbol allowlist, no price for a notional limit)
 * refuses the order rather than letting it through.
 */
export function evaluateOrderPolicy(
  policy: OrderPolicy,
  request: OrderPolicyRequest,
  market: MarketSnapshot = {},
): PolicyDecision {
  const isWrite = request.action !== 'whatif';
  if (policy.readOnly && isWrite) {
    return refuse(POLICY_CODES.readOnly, `This API key is read-only; ${request.action} is not allowed`, {
      action: request.action,
    });
  }
  // Cancelling only ever reduces exposure, so the contract and size limits do not apply to it.
  if (request.action === 'cancel') return ALLOWED;

  const secType = request.secType?.toUpperCase();
  if (policy.secTypes && (secType === undefined || !policy.secTypes.includes(secType))) {
    return refuse(POLICY_CODES.secType, `secType ${secType ?? '(missing)'} is not allowed for this API key`, {
      secType: secType ?? null,
      allowed: policy.secTypes,
    });
  }
  const symbol = request.symbol?.toUpperCase();
  if (policy.symbols && (symbol === undefined || !policy.symbols.includes(symbol))) {
    return refuse(POLICY_CODES.symbol, `Symbol ${symbol ?? '(missing)'} is not allowed for this API key`, {
      symbol: symbol ?? null,
      allowed: policy.symbols,
    });
  }

  const quantity = request.quantity;
  const qty = positive(quantity);
  if (policy.maxQuantity !== undefined && (qty === undefined || qty > policy.maxQuantity)) {
    return refuse(
      POLICY_CODES.quantity,
      `Quantity ${quantity ?? '(missing)'} exceeds this API key's limit of ${policy.maxQuantity}`,
      {
        quantity: quantity ?? null,
        maxQuantity: policy.maxQuantity,
      },
    );
  }

  const last = positive(market.lastPrice);
  const limit = positive(request.limitPrice);
  if (policy.maxNotional !== undefined) {
    // A limit order can trade at most at its limit; anything else is valued at the market.
    const price = limit ?? last;
    if (price === undefined || qty === undefined) {
      return refuse(
        POLICY_CODES.priceUnavailable,
        qty === undefined
          ? 'No quantity is given to check the notional limit'
          : 'No price is available to check the notional limit',
        {
          limitPrice: request.limitPrice ?? null,
          lastPrice: market.lastPrice ?? null,
          quantity: quantity ?? null,
        },
      );
    }
    const multiplier = positive(request.multiplier) ?? 1;
    const notional = qty * price * multiplier;
    if (notional > policy.maxNotional) {
      return refuse(
        POLICY_CODES.notional,
        `Notional ${round(notional)} exceeds this API key's limit of ${policy.maxNotional}`,
        {
          notional: round(notional),
          maxNotional: policy.maxNotional,
          price,
          quantity: qty,
          multiplier,
          currency: request.currency ?? null,
        },
      );
    }
  }

  if (policy.priceBandPercent !== undefined && request.limitPrice !== undefined) {
    if (last === undefined || limit === undefined) {
      return refuse(POLICY_CODES.priceUnavailable, 'No last price is available to check the limit price band', {
        limitPrice: request.limitPrice,
        lastPrice: market.lastPrice ?? null,
      });
    }
    // Symmetric on purpose: a far-off buy limit is harmless today but becomes a fat-finger fill on the next gap.
    const deviationPercent = (Math.abs(limit - last) / last) * 100;
    if (deviationPercent > policy.priceBandPercent) {
      return refuse(
        POLICY_CODES.priceBand,
        `Limit price ${limit} is ${round(deviationPercent)}% away from the last price ${last}; ` +
          `the band is ${policy.priceBandPercent}%`,
        {
          limitPrice: limit,
          lastPrice: last,
          deviationPercent: round(deviationPercent),
          priceBandPercent: policy.priceBandPercent,
        },
      );
    }
  }
  return ALLOWED;
}

/** Throws {@link PolicyRefusedError} when the policy refuses the operation. */
export function assertOrderAllowed(policy: OrderPolicy, request: OrderPolicyRequest, market?: MarketSnapshot): void {
  const decision = evaluateOrderPolicy(policy, request, market);
  if (!decision.allowed) throw new PolicyRefusedError(decision);
}

function positive(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
