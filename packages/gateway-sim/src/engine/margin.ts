import type { ContractDef } from './catalogue.js';

/** Initial and maintenance margin requirement, in the account's currency (USD). */
export interface Margin {
  init: number;
  maint: number;
}

/**
 * Per-contract futures margins (initial, maintenance), the way exchanges publish them: a fixed amount per
 * contract, independent of the price. Futures not listed fall back to a share of the notional.
 */
export const FUTURE_MARGINS: Readonly<Record<string, Margin>> = {
  ES: { init: 16_500, maint: 15_000 },
};

/** Reg-T for stocks: 50 % initial, 25 % maintenance of the market value, long or short. */
export const STOCK_INIT_RATE = 0.5;
export const STOCK_MAINT_RATE = 0.25;
/** Spot forex: 3 % of the notional (IB's rate for the major pairs). */
export const FOREX_RATE = 0.03;
/** Short options: premium plus this share of the strike value. */
export const SHORT_OPTION_RATE = 0.2;
const FUTURE_FALLBACK = { init: 0.1, maint: 0.09 };

/**
 * Margin requirement of holding `quantity` (signed) of `contract` marked at `price`. A simplified but
 * deterministic stand-in for IB's rules-based margin: the shape (who needs more than whom, what scales
 * with price and what does not) is IB's, the exact rates are not any one account's.
 */
export function positionMargin(contract: ContractDef, quantity: number, price: number, multiplier: number): Margin {
  const q = Math.abs(quantity);
  if (q === 0) return { init: 0, maint: 0 };
  const notional = q * price * multiplier;
  switch (contract.secType) {
    case 'STK':
      return { init: notional * STOCK_INIT_RATE, maint: notional * STOCK_MAINT_RATE };
    case 'FUT': {
      const fixed = FUTURE_MARGINS[contract.symbol];
      if (fixed) return { init: fixed.init * q, maint: fixed.maint * q };
      return { init: notional * FUTURE_FALLBACK.init, maint: notional * FUTURE_FALLBACK.maint };
    }
    case 'CASH':
      return { init: notional * FOREX_RATE, maint: notional * FOREX_RATE };
    case 'OPT': {
      // A long option is paid in full and cannot be margined; a short one carries the premium plus a
      // share of the exercise value.
      if (quantity > 0) return { init: notional, maint: notional };
      const m = notional + q * contract.strike * multiplier * SHORT_OPTION_RATE;
      return { init: m, maint: m };
    }
  }
}

/** Sum of margins. */
export function addMargins(a: Margin, b: Margin): Margin {
  return { init: a.init + b.init, maint: a.maint + b.maint };
}
