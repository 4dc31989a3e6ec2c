import { commissionFor, multiplierOf, type Accounts } from './accounts.js';
import type { ContractDef } from './catalogue.js';
import type { Clock } from './clock.js';
import type { Market } from './market.js';
import type { OrderRequest, SimOrder } from './orders.js';

/**
 * The order-state figures of IB's what-if answer (OPEN_ORDER with whatIf = 1). Money in the commission
 * currency, rounded to cents; `undefined` goes out as Double.MAX_VALUE ("unset").
 */
export interface WhatIfFigures {
  initMarginBefore: number;
  maintMarginBefore: number;
  equityWithLoanBefore: number;
  initMarginChange: number;
  maintMarginChange: number;
  equityWithLoanChange: number;
  initMarginAfter: number;
  maintMarginAfter: number;
  equityWithLoanAfter: number;
  commission: number;
  minCommission?: number;
  maxCommission?: number;
  commissionCurrency: string;
  warningText: string;
}

/** One answered what-if request, as the control API lists it. */
export interface WhatIfPreview {
  /** Order-shaped view for OPEN_ORDER: status PreSubmitted, permId 0 (no order exists, no permId is used). */
  order: SimOrder;
  figures: WhatIfFigures;
}

const cents = (n: number): number => Math.round(n * 100) / 100 || 0;

/**
 * Answers what-if orders: what the order would do to the account's margin, equity with loan value and
 * commission if it filled now — without creating an order. The fill price is the limit (LMT, STP LMT),
 * the stop (STP) or the touch (MKT: ask to buy, bid to sell); margins are marked at the last price.
 */
export class WhatIfDesk {
  private readonly previews: WhatIfPreview[] = [];

  constructor(
    private readonly accounts: Accounts,
    private readonly market: Market,
    private readonly clock: Clock,
  ) {}

  /** Every what-if answered so far, oldest first. */
  all(): readonly WhatIfPreview[] {
    return this.previews;
  }

  preview(clientId: number, req: OrderRequest, contract: ContractDef): WhatIfPreview {
    const account = req.account || this.accounts.defaultId();
    const action = req.action.toUpperCase();
    const orderType = req.orderType.toUpperCase();
    const signed = action === 'BUY' ? req.totalQuantity : -req.totalQuantity;
    const q = this.market.quote(contract.conId);
    const touch = (action === 'BUY' ? q?.ask : q?.bid) ?? contract.basePrice;
    const price = orderType === 'STP' ? (req.auxPrice ?? touch) : (req.lmtPrice ?? touch);
    const mark = this.accounts.markPrice(contract);
    const mult = multiplierOf(contract);
    const commission = commissionFor(contract, req.totalQuantity, price);

    const before = this.accounts.margin(account);
    const after = this.accounts.margin(account, { contract, quantity: signed });
    const equityBefore = this.accounts.values(account).netLiquidation;
    // Buying at the price and marking at the last changes equity only by the difference, less commission.
    const equityChange = signed * mult * (mark - price) - commission;
    const figures: WhatIfFigures = {
      initMarginBefore: cents(before.init),
      maintMarginBefore: cents(before.maint),
      equityWithLoanBefore: cents(equityBefore),
      initMarginChange: cents(after.init - before.init),
      maintMarginChange: cents(after.maint - before.maint),
      equityWithLoanChange: cents(equityChange),
      initMarginAfter: cents(after.init),
      maintMarginAfter: cents(after.maint),
      equityWithLoanAfter: cents(equityBefore + equityChange),
      commission,
      commissionCurrency: contract.currency,
      warningText: '',
    };
    if (figures.initMarginAfter > figures.equityWithLoanAfter) {
      // IB's wording when margin would not cover the order (the same check rejects a real order).
      figures.warningText =
        'YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE ' +
        `[${figures.equityWithLoanAfter.toFixed(2)} ${contract.currency}] MUST EXCEED THE INITIAL MARGIN ` +
        `[${figures.initMarginAfter.toFixed(2)} ${contract.currency}]`;
    }
    const now = this.clock.now();
    const order: SimOrder = {
      ...req,
      action,
      orderType,
      account,
      clientId,
      permId: 0,
      contract,
      status: 'PreSubmitted',
      filled: 0,
      avgFillPrice: 0,
      lastFillPrice: 0,
      triggered: false,
      transmitted: false,
      whyHeld: '',
      history: [{ status: 'PreSubmitted', time: now }],
      createdAt: now,
    };
    const preview = { order, figures };
    this.previews.push(preview);
    return preview;
  }
}
