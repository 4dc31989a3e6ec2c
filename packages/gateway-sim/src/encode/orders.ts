import type { SimOrder } from '../engine/orders.js';
import type { WhatIfFigures } from '../engine/what-if.js';
import { ibDateTime } from '../engine/clock.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import { OUT } from '../wire/msg-ids.js';
import { optDouble, UNSET_DOUBLE, UNSET_INT, type Field } from '../wire/fields.js';

const D = UNSET_DOUBLE;
const I = UNSET_INT;

/** Contract block shared by OPEN_ORDER and COMPLETED_ORDER (EOrderDecoder.readContractFields). */
function contractFields(o: SimOrder): Field[] {
  const c = o.contract;
  // Real TWS sends "?" as the right of a non-option.
  return [
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    c.strike,
    c.right || '?',
    c.multiplier,
    c.exchange,
    c.currency,
    c.localSymbol,
    c.tradingClass,
  ];
}

const lmt = (o: SimOrder): Field => optDouble(o.lmtPrice);
const aux = (o: SimOrder): Field => optDouble(o.auxPrice);

/**
 * The whatIf flag, status and order-state block (EOrderDecoder.readWhatIfInfoAndCommission). A placed
 * order carries whatIf 0 and unset figures; a what-if answer carries the preview (WHAT_IF_EXT_FIELDS 142
 * adds the before/change figures ahead of the after figures).
 */
function whatIfBlock(sv: number, status: string, w: WhatIfFigures | undefined): Field[] {
  const f: Field[] = [w ? 1 : 0, status];
  if (sv >= V.WHAT_IF_EXT_FIELDS) {
    f.push(
      optDouble(w?.initMarginBefore),
      optDouble(w?.maintMarginBefore),
      optDouble(w?.equityWithLoanBefore),
      optDouble(w?.initMarginChange),
      optDouble(w?.maintMarginChange),
      optDouble(w?.equityWithLoanChange),
    );
  }
  f.push(
    optDouble(w?.initMarginAfter),
    optDouble(w?.maintMarginAfter),
    optDouble(w?.equityWithLoanAfter),
    optDouble(w?.commission),
    optDouble(w?.minCommission),
    optDouble(w?.maxCommission),
    w?.commissionCurrency ?? '',
    w?.warningText ?? '',
  );
  return f;
}

/**
 * OPEN_ORDER without a message version (≥ ORDER_CONTAINER), field for field in EOrderDecoder's order.
 * Field counts (incl. the id): 123 at 164, 128 at 176, 133 at 193. `whatIf` makes it the answer to a
 * what-if PLACE_ORDER.
 */
export function openOrder(sv: number, o: SimOrder, whatIf?: WhatIfFigures): Field[] {
  const f: Field[] = [OUT.OPEN_ORDER, o.orderId, ...contractFields(o)];
  f.push(
    o.action,
    o.totalQuantity,
    o.orderType,
    lmt(o),
    aux(o),
    o.tif,
    o.ocaGroup,
    o.account,
    /* openClose */ '',
    /* origin */ 0,
    o.orderRef,
    o.clientId,
    o.permId,
    o.outsideRth,
    /* hidden */ 0,
    /* discretionaryAmt */ 0,
    /* goodAfterTime */ '',
    /* sharesAllocation (deprecated) */ '',
  );
  f.push(/* faGroup */ '', /* faMethod */ '', /* faPercentage */ '');
  if (sv < V.FA_PROFILE_DESUPPORT) f.push(/* faProfile */ '');
  f.push(/* modelCode (MODELS_SUPPORT) */ '');
  f.push(
    /* goodTillDate */ '',
    /* rule80A */ '',
    /* percentOffset */ D,
    /* settlingFirm */ '',
    /* shortSaleSlot */ 0,
    /* designatedLocation */ '',
    /* exemptCode */ -1,
    /* auctionStrategy */ 0,
    /* startingPrice */ D,
    /* stockRefPrice */ D,
    /* delta */ D,
    /* stockRangeLower */ D,
    /* stockRangeUpper */ D,
    /* displaySize */ I,
    /* blockOrder */ 0,
    /* sweepToFill */ 0,
    /* allOrNone */ 0,
    /* minQty */ I,
    /* ocaType */ o.ocaType || 3,
    /* eTradeOnly */ 0,
    /* firmQuoteOnly */ 0,
    /* nbboPriceCap */ D,
    o.parentId,
    /* triggerMethod */ 0,
  );
  f.push(
    /* volatility */ D,
    /* volatilityType */ 0,
    /* deltaNeutralOrderType (empty: no delta-neutral block follows) */ '',
    /* deltaNeutralAuxPrice */ D,
  );
  f.push(
    /* continuousUpdate */ 0,
    /* referencePriceType */ 0,
    /* trailStopPrice */ D,
    /* trailingPercent */ D,
    /* basisPoints */ D,
    /* basisPointsType */ I,
    /* comboLegsDescrip */ '',
    /* comboLegsCount */ 0,
    /* orderComboLegsCount */ 0,
    /* smartComboRoutingParamsCount */ 0,
    /* scaleInitLevelSize */ I,
    /* scaleSubsLevelSize */ I,
    /* scalePriceIncrement */ D,
    /* hedgeType */ '',
    /* optOutSmartRouting */ 0,
    /* clearingAccount */ '',
    /* clearingIntent */ 'IB',
    /* notHeld */ 0,
    /* deltaNeutralContract */ 0,
    /* algoStrategy */ '',
    /* solicited */ 0,
  );
  f.push(...whatIfBlock(sv, o.status, whatIf));
  f.push(
    /* randomizeSize */ 0,
    /* randomizePrice */ 0,
    /* conditionsCount (PEGGED_TO_BENCHMARK) */ 0,
    /* adjustedOrderType */ o.orderType,
    /* triggerPrice */ D,
    /* trailStopPrice */ D,
    /* lmtPriceOffset */ D,
    /* adjustedStopPrice */ D,
    /* adjustedStopLimitPrice */ D,
    /* adjustedTrailingAmount */ D,
    /* adjustableTrailingUnit */ 0,
    /* softDollarTier name, value, displayName */ '',
    '',
    '',
    /* cashQty */ D,
    /* dontUseAutoPriceForHedge */ 0,
    /* isOmsContainer */ 0,
    /* discretionaryUpToLimitPrice */ 0,
    /* usePriceMgmtAlgo */ 0,
    /* duration */ I,
    /* postToAts */ I,
    /* autoCancelParent */ 0,
  );
  if (sv >= V.PEGBEST_PEGMID_OFFSETS)
    f.push(
      /* minTradeQty */ I,
      /* minCompeteSize */ I,
      /* competeAgainstBestOffset */ D,
      /* midOffsetAtWhole */ D,
      /* midOffsetAtHalf */ D,
    );
  if (sv >= V.CUSTOMER_ACCOUNT) f.push(/* customerAccount */ '');
  if (sv >= V.PROFESSIONAL_CUSTOMER) f.push(/* professionalCustomer */ 0);
  if (sv >= V.BOND_ACCRUED_INTEREST) f.push(/* bondAccruedInterest */ '');
  if (sv >= V.INCLUDE_OVERNIGHT) f.push(/* includeOvernight */ 0);
  if (sv >= V.CME_TAGGING_FIELDS_IN_OPEN_ORDER) f.push(/* extOperator */ '', /* manualOrderIndicator */ I);
  return f;
}

/** ORDER_STATUS without a version (≥ MARKET_CAP_PRICE): 12 fields. */
export function orderStatus(o: SimOrder): Field[] {
  return [
    OUT.ORDER_STATUS,
    o.orderId,
    o.status,
    o.filled,
    Math.max(0, o.totalQuantity - o.filled),
    o.avgFillPrice,
    o.permId,
    o.parentId,
    o.lastFillPrice,
    o.clientId,
    o.whyHeld,
    /* mktCapPrice */ 0,
  ];
}

export const openOrderEnd = (): Field[] => [OUT.OPEN_ORDER_END, 1];

/**
 * COMPLETED_ORDER: no order id, no version, field for field in EDecoder.processCompletedOrderMsg. faProfile is
 * present below `FA_PROFILE_DESUPPORT` 177 (EOrderDecoder.readFAParams compares the server version; unpatched
 * @stoqey/ib 1.6.10 compares the message version, MAX_VALUE here, and misreads it).
 */
export function completedOrder(sv: number, o: SimOrder): Field[] {
  const f: Field[] = [OUT.COMPLETED_ORDER, ...contractFields(o)];
  f.push(
    o.action,
    o.totalQuantity,
    o.orderType,
    lmt(o),
    aux(o),
    o.tif,
    o.ocaGroup,
    o.account,
    '',
    0,
    o.orderRef,
    o.permId,
    o.outsideRth,
    0,
    0,
    '',
    /* faGroup, faMethod, faPercentage */ '',
    '',
    '',
    ...(sv < V.FA_PROFILE_DESUPPORT ? [/* faProfile */ ''] : []),
    /* modelCode */ '',
    /* goodTillDate */ '',
    /* rule80A */ '',
    /* percentOffset */ D,
    /* settlingFirm */ '',
    /* shortSaleSlot */ 0,
    /* designatedLocation */ '',
    /* exemptCode */ -1,
    /* startingPrice, stockRefPrice, delta */ D,
    D,
    D,
    /* stockRangeLower, Upper */ D,
    D,
    /* displaySize */ I,
    /* sweepToFill */ 0,
    /* allOrNone */ 0,
    /* minQty */ I,
    /* ocaType */ o.ocaType || 3,
    /* triggerMethod */ 0,
    /* volatility */ D,
    /* volatilityType */ 0,
    /* deltaNeutralOrderType (empty: no delta-neutral block follows) */ '',
    /* deltaNeutralAuxPrice */ D,
    /* continuousUpdate */ 0,
    /* referencePriceType */ 0,
    /* trailStopPrice */ D,
    /* trailingPercent */ D,
    /* comboLegsDescrip */ '',
    /* comboLegsCount */ 0,
    /* orderComboLegsCount */ 0,
    /* smartComboRoutingParamsCount */ 0,
    /* scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement */ I,
    I,
    D,
    /* hedgeType */ '',
    /* clearingAccount */ '',
    /* clearingIntent */ 'IB',
    /* notHeld */ 0,
    /* deltaNeutralContract */ 0,
    /* algoStrategy */ '',
    /* solicited */ 0,
    o.status,
    /* randomizeSize, randomizePrice */ 0,
    0,
    /* conditionsCount */ 0,
    /* trailStopPrice, lmtPriceOffset */ D,
    D,
    /* cashQty */ D,
    /* dontUseAutoPriceForHedge */ 0,
    /* isOmsContainer */ 0,
    /* autoCancelDate */ '',
    /* filledQuantity */ o.filled,
    /* refFuturesConId */ 0,
    /* autoCancelParent */ 0,
    /* shareholder */ '',
    /* imbalanceOnly */ 0,
    /* routeMarketableToBbo */ 0,
    /* parentPermId */ 0,
    /* completedTime */ o.completedAt ? `${ibDateTime(o.completedAt)} GMT` : '',
    /* completedStatus */ o.completedReason ?? o.status,
  );
  if (sv >= V.PEGBEST_PEGMID_OFFSETS) f.push(I, I, D, D, D);
  if (sv >= V.CUSTOMER_ACCOUNT) f.push('');
  if (sv >= V.PROFESSIONAL_CUSTOMER) f.push(0);
  return f;
}

export const completedOrdersEnd = (): Field[] => [OUT.COMPLETED_ORDERS_END];
