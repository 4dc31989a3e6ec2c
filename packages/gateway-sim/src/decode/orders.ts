import type { ContractQuery } from '../engine/catalogue.js';
import type { OrderRequest } from '../engine/orders.js';
import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import type { FieldReader } from '../wire/fields.js';
import { readContract } from './contract.js';

export interface PlaceOrderRequest {
  contract: ContractQuery;
  order: OrderRequest;
}

/**
 * PLACE_ORDER without a version (≥ ORDER_CONTAINER). Reads up to ocaType; the remaining ~70 fields
 * (algo, conditions, scale, MiFID …) are not simulated and skipped — framing makes that safe.
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
  let ocaType = 0;
  if ((contract.secType ?? '').toUpperCase() !== 'BAG') {
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
    ocaType = r.readIntOrUndefined('ocaType') ?? 0;
  }
  r.skipRest();
  return {
    contract,
    order: {
      orderId, action, totalQuantity, orderType, lmtPrice, auxPrice, tif, ocaGroup, ocaType, account, orderRef,
      transmit, parentId, outsideRth,
    },
  };
}

/** CANCEL_ORDER: version field below CME_TAGGING_FIELDS; the manual-time and tagging fields are ignored. */
export function readCancelOrder(sv: number, r: FieldReader): { orderId: number } {
  if (sv < V.CME_TAGGING_FIELDS) r.readInt('version');
  const orderId = r.readInt('orderId');
  r.skipRest();
  return { orderId };
}
