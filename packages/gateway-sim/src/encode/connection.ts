import { MIN_SERVER_VER as V } from '../wire/server-versions.js';
import { OUT } from '../wire/msg-ids.js';
import type { Field } from '../wire/fields.js';

/** ERR_MSG: `4, 2, id, code, msg` + advancedOrderRejectJson (ADVANCED_ORDER_REJECT). id −1 = notice. */
export function errMsg(sv: number, id: number, code: number, msg: string, advancedJson = ''): Field[] {
  const f: Field[] = [OUT.ERR_MSG, 2, id, code, msg];
  if (sv >= V.ADVANCED_ORDER_REJECT) f.push(advancedJson);
  return f;
}

export const managedAccounts = (accounts: string[]): Field[] => [OUT.MANAGED_ACCTS, 1, accounts.join(',')];
export const nextValidId = (orderId: number): Field[] => [OUT.NEXT_VALID_ID, 1, orderId];
export const currentTime = (epochSeconds: number): Field[] => [OUT.CURRENT_TIME, 1, epochSeconds];
