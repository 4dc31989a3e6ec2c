import type { ContractQuery } from '../engine/catalogue.js';
import type { OrderRequest } from '../engine/orders.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import { UNSET_DOUBLE, type FieldReader } from '../wire/fields.js';
import { readContract } from './contract.js';

export interface PlaceOrderRequest {
  contract: ContractQuery;
  order: OrderRequest;
  /** IB's what-if flag: preview margin and commission, place nothing. */
  whatIf: boolean;
}

const isSet = (s: string): boolean => s !== '' && s !== UNSET_DOUBLE;

/** Skips `n` fields (blocks the simulator does not use). */
function skip(r: FieldReader, n: number, what: string): void {
  for (let i = 0; i < n; i++) r.readStr(what);
}

/**
 * BAG legs between `hidden` and `sharesAllocation`: combo legs (8 fields each at ≥ SSHORTX_OLD),
 * order combo leg prices (ORDER_COMBO_LEGS_PRICE) and smart combo routing params (tag, value).
 */
function skipBagBlocks(r: FieldReader): void {
  skip(r, r.readInt('comboLegsCount') * 8, 'comboLeg');
  skip(r, r.readInt('orderComboLegsCount'), 'orderComboLeg.price');
  skip(r, r.readInt('smartComboRoutingParamsCount') * 2, 'smartComboRoutingParam');
}

/**
 * The fields from rule80A to whatIf, in EClient.placeOrder's order for server versions ≥ 145 (every gate
 * on the way — SCALE_ORDERS3 60, HEDGE_ORDERS 54, ALGO_ID 71, WHAT_IF_ORDERS 36 — lies below 164). Three
 * blocks are conditional on a value sent just before them: delta-neutral details on a non-empty
 * deltaNeutralOrderType, the scale tail on a scalePriceIncrement above 0 (IB's rule), hedgeParam on a
 * hedgeType, the delta-neutral contract on its flag, algo params on an algoStrategy.
 */
function readToWhatIf(r: FieldReader): boolean {
  skip(r, 14, 'rule80A…stockRangeUpper');
  r.readStr('overridePercentageConstraints');
  r.readStr('volatility');
  r.readStr('volatilityType');
  const deltaNeutralOrderType = r.readStr('deltaNeutralOrderType');
  r.readStr('deltaNeutralAuxPrice');
  // DELTA_NEUTRAL_CONID (conId, settlingFirm, clearingAccount, clearingIntent) and
  // DELTA_NEUTRAL_OPEN_CLOSE (openClose, shortSale, shortSaleSlot, designatedLocation).
  if (deltaNeutralOrderType !== '') skip(r, 8, 'deltaNeutral');
  r.readStr('continuousUpdate');
  r.readStr('referencePriceType');
  r.readStr('trailStopPrice');
  r.readStr('trailingPercent');
  r.readStr('scaleInitLevelSize');
  r.readStr('scaleSubsLevelSize');
  const scalePriceIncrement = r.readStr('scalePriceIncrement');
  if (isSet(scalePriceIncrement) && Number(scalePriceIncrement) > 0) skip(r, 7, 'scaleOrders3');
  skip(r, 3, 'scaleTable, activeStartTime, activeStopTime');
  if (r.readStr('hedgeType') !== '') r.readStr('hedgeParam');
  skip(r, 4, 'optOutSmartRouting, clearingAccount, clearingIntent, notHeld');
  if (r.readBool('deltaNeutralContract')) skip(r, 3, 'deltaNeutralContract');
  if (r.readStr('algoStrategy') !== '') skip(r, r.readInt('algoParamsCount') * 2, 'algoParam');
  r.readStr('algoId');
  return r.readBool('whatIf');
}

/**
 * PLACE_ORDER without a version (≥ ORDER_CONTAINER). Reads up to whatIf; the remaining fields
 * (orderMiscOptions, conditions, MiFID, pegs …) are not simulated and skipped — framing makes that safe.
 */
export function readPlaceOrder(sv: number, r: FieldReader): PlaceOrderRequest {
  const orderId = r.readInt('orderId');
  const contract = readContract(r);
  r.readStr('secIdType');
  r.readStr('secId');
  const action = r.readStr('action');
  const totalQuantity = r.readDouble('totalQuantity');
  const orderType = r.readStr('orderType');
  const lmtPrice = r.readDoubleOrUndefined('lmtPrice');
  const auxPrice = r.readDoubleOrUndefined('auxPrice');
  const tif = r.readStr('tif');
  const ocaGroup = r.readStr('ocaGroup');
  const account = r.readStr('account');
  r.readStr('openClose');
  r.readStr('origin');
  const orderRef = r.readStr('orderRef');
  // An empty transmit means the client left it at its default, which is true in IB's Order class.
  const transmitRaw = r.readStr('transmit');
  const transmit = transmitRaw === '' ? true : transmitRaw !== '0';
  const parentId = r.readInt('parentId');
  r.readStr('blockOrder');
  r.readStr('sweepToFill');
  r.readStr('displaySize');
  r.readStr('triggerMethod');
  const outsideRth = r.readBool('outsideRth');
  r.readStr('hidden');
  if ((contract.secType ?? '').toUpperCase() === 'BAG') skipBagBlocks(r);
  r.readStr('sharesAllocation');
  r.readStr('discretionaryAmt');
  r.readStr('goodAfterTime');
  r.readStr('goodTillDate');
  r.readStr('faGroup');
  r.readStr('faMethod');
  r.readStr('faPercentage');
  if (sv < V.FA_PROFILE_DESUPPORT) r.readStr('faProfile');
  r.readStr('modelCode');
  r.readStr('shortSaleSlot');
  r.readStr('designatedLocation');
  r.readStr('exemptCode');
  const ocaType = r.readIntOrUndefined('ocaType') ?? 0;
  const whatIf = readToWhatIf(r);
  r.skipRest();
  return {
    contract,
    order: {
      orderId,
      action,
      totalQuantity,
      orderType,
      lmtPrice,
      auxPrice,
      tif,
      ocaGroup,
      ocaType,
      account,
      orderRef,
      transmit,
      parentId,
      outsideRth,
    },
    whatIf,
  };
}

/** CANCEL_ORDER: version field below CME_TAGGING_FIELDS; the manual-time and tagging fields are ignored. */
export function readCancelOrder(sv: number, r: FieldReader): { orderId: number } {
  if (sv < V.CME_TAGGING_FIELDS) r.readInt('version');
  const orderId = r.readInt('orderId');
  r.skipRest();
  return { orderId };
}
