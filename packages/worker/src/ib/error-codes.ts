import type { ApiError } from '@ibrest/common';
import {
  ContractNotFoundError,
  IbInvalidRequestError,
  IbRequestError,
  MarketDataLinesExhaustedError,
  NoDataError,
  OrderNotFoundError,
  OrderNotModifiableError,
  OrderRejectedError,
  PacingLimitError,
} from '../errors.js';

/**
 * What an IB error/notice code means to the worker. IB sends notices and failures through the same
 * `error` message; this table is the one place that tells them apart.
 */
export type IbCodeKind =
  /** Logged at info, never returned to a caller. */
  | 'info'
  /** 1100: the link between TWS/Gateway and IB's servers is down. */
  | 'link-lost'
  /** 1101: link back, subscriptions lost → re-sync and resubscribe. */
  | 'link-restored-lost'
  /** 1102: link back, data kept. */
  | 'link-restored'
  | 'farm-down'
  | 'farm-ok'
  | 'farm-inactive'
  /** 326: the clientId is held by another connection. */
  | 'client-id-in-use'
  /** A failure of the request or order named by the error's id. */
  | 'request';

const TABLE: Record<number, IbCodeKind> = {
  1100: 'link-lost', // Connectivity between IB and TWS has been lost.
  1101: 'link-restored-lost', // Connectivity restored, data lost: market data requests must be resubmitted.
  1102: 'link-restored', // Connectivity restored, data maintained.
  1300: 'info', // Socket port reset during an active connection (TWS tells the new port).
  2103: 'farm-down', // Market data farm connection is broken.
  2105: 'farm-down', // HMDS (historical) data farm connection is broken.
  2157: 'farm-down', // Sec-def data farm connection is broken.
  2104: 'farm-ok', // Market data farm connection is OK.
  2106: 'farm-ok', // HMDS data farm connection is OK.
  2158: 'farm-ok', // Sec-def data farm connection is OK.
  2107: 'farm-inactive', // HMDS farm inactive but available on demand.
  2108: 'farm-inactive', // Market data farm inactive but available on demand.
  2159: 'info', // Time-zone / sec-def notice.
  2119: 'info', // Market data farm is connecting.
  2100: 'info', // API client unsubscribed from account data (another client took the account subscription).
  2109: 'info', // Order event attribute "outsideRth" ignored.
  2137: 'info', // Cross-side warning.
  2150: 'info', // Invalid position trade derived value.
  399: 'info', // Order message warning (e.g. will be placed at the open); the order itself proceeds.
  10167: 'info', // Displaying delayed market data.
  326: 'client-id-in-use', // Unable to connect as the client id is already in use.
};

export function classifyIbCode(code: number): IbCodeKind {
  const kind = TABLE[code];
  if (kind !== undefined) return kind;
  // 2100–2199 are warnings by IB's own numbering; none of them fails a request.
  if (code >= 2100 && code < 2200) return 'info';
  return 'request';
}

/** Farm name from a farm notice ("Market data farm connection is OK:usfarm" → "usfarm"). */
export function farmName(message: string): string {
  const i = message.lastIndexOf(':');
  const name = i >= 0 ? message.slice(i + 1).trim() : '';
  return name === '' ? 'unknown' : name;
}

/** Codes that end an order (or an order operation) with a refusal. */
export const ORDER_REJECT_CODES = new Set([
  103, // Duplicate order id.
  104, // Can't modify a filled order.
  105, // Order being modified does not match the original.
  106, 107, 109, 110, 111, 113, 114, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 129, 131, 132, 133, 134,
  201, // Order rejected (reason in the text).
  202, // Order cancelled.
  203, // Security not allowed for this account.
  382, 383, 387, 388, // Size/quantity violations.
  434, // Order size cannot be zero.
]);

/**
 * Turns an IB failure of one request into the worker's named error. `context` names the operation so the
 * mapping can tell "unknown order" from "unknown contract".
 */
export function ibErrorToApiError(
  code: number,
  message: string,
  context: { operation: string; orderId?: number },
): ApiError {
  const details = { operation: context.operation };
  switch (code) {
    case 200: // No security definition has been found for the request.
      return new ContractNotFoundError(message, details);
    case 162: // Historical market data service error: pacing violation (also "query cancelled").
      return new PacingLimitError('historical', message, 15, 162);
    case 100: // Max rate of messages per second exceeded; the pacer exists so this never happens.
      return new PacingLimitError('messages', message, 1, 100);
    case 101: // Max number of tickers reached.
      return new MarketDataLinesExhaustedError(message, { ibCode: code });
    case 10147: // OrderId that needs to be cancelled is not found.
    case 135: // Can't find order with id.
      return new OrderNotFoundError(context.orderId ?? -1, code);
    case 10148: // Order can not be cancelled, state: …
    case 104: // Can't modify a filled order.
      return new OrderNotModifiableError(context.orderId ?? -1, 'final', code);
    case 321: // Error validating request.
    case 322: // Error processing request.
    case 320: // Error reading request.
      return new IbInvalidRequestError(message, code, details);
    case 366: // No historical data query found for ticker id.
    case 10090: // Part of requested market data is not subscribed.
    case 354: // Requested market data is not subscribed.
      return new NoDataError(message, code, details);
    default:
      if (ORDER_REJECT_CODES.has(code)) return new OrderRejectedError(message, code, { ...details, orderId: context.orderId });
      return new IbRequestError(message, code, details);
  }
}
