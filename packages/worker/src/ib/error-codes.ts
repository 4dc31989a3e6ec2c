import type { ApiError } from '@ibrest/common';
import {
  ContractNotFoundError,
  IbInvalidRequestError,
  IbProtocolError,
  IbUnavailableError,
  MarketDataLinesExhaustedError,
  NoDataError,
  NoPermissionError,
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

/** The capability each farm notice speaks of, and what it says (IB's message codes page). */
export interface FarmNotice {
  capability: 'marketData' | 'historical' | 'secDef';
  status: 'ok' | 'down' | 'inactive';
}

export const FARM_NOTICES: Readonly<Record<number, FarmNotice>> = {
  2103: { capability: 'marketData', status: 'down' }, // Market data farm connection is broken.
  2104: { capability: 'marketData', status: 'ok' }, // Market data farm connection is OK.
  2108: { capability: 'marketData', status: 'inactive' }, // Market data farm inactive, available upon demand.
  2105: { capability: 'historical', status: 'down' }, // HMDS data farm connection is broken.
  2106: { capability: 'historical', status: 'ok' }, // HMDS data farm connection is OK.
  2107: { capability: 'historical', status: 'inactive' }, // HMDS data farm inactive, available upon demand.
  2157: { capability: 'secDef', status: 'down' }, // Sec-def data farm connection is broken.
  2158: { capability: 'secDef', status: 'ok' }, // Sec-def data farm connection is OK.
};

/** Codes that end an order (or an order operation) with a refusal. */
export const ORDER_REJECT_CODES = new Set([
  103, // Duplicate order id.
  104, // Can't modify a filled order.
  105, // Order being modified does not match the original.
  106,
  107,
  109,
  110,
  111,
  113,
  114,
  116,
  117,
  118,
  119,
  120,
  121,
  122,
  123,
  124,
  125,
  126,
  129,
  131,
  132,
  133,
  134,
  201, // Order rejected (reason in the text).
  202, // Order cancelled.
  203, // Security not allowed for this account.
  382,
  383,
  387,
  388, // Size/quantity violations.
  434, // Order size cannot be zero.
]);

/**
 * Who an IB failure of one request blames, and so its HTTP class (decided here, once):
 * - the caller's request → 4xx with `ibCode` and IB's text (a refusal never says the worker is unwell);
 * - pacing → 429 + Retry-After;
 * - IB or the link to it → 503 + Retry-After;
 * - our own defect (bytes IB could not read) → 500.
 */
export type IbBlame = 'request' | 'pacing' | 'ib' | 'defect';

/** The HTTP answer of one IB code: `kind` picks the named error; `why` is the one-line reason. */
interface CodeEntry {
  kind:
    | 'contract-not-found'
    | 'order-not-found'
    | 'order-final'
    | 'order-rejected'
    | 'invalid'
    | 'no-data'
    | 'no-permission'
    | 'pacing'
    | 'lines'
    | 'unavailable'
    | 'defect';
  why: string;
}

const REQUEST_CODES: Readonly<Record<number, CodeEntry>> = {
  100: { kind: 'pacing', why: 'Max rate of messages per second exceeded (the pacer exists so this never happens)' },
  101: { kind: 'lines', why: 'Max number of tickers reached' },
  104: { kind: 'order-final', why: "Can't modify a filled order" },
  135: { kind: 'order-not-found', why: "Can't find order with id" },
  162: { kind: 'pacing', why: 'Historical data service error: pacing violation (no data / permissions by its text)' },
  200: { kind: 'contract-not-found', why: 'No security definition has been found for the request' },
  309: { kind: 'lines', why: 'Max number of market depth requests reached' },
  320: { kind: 'defect', why: 'Server error reading an API client request: the worker sent what IB cannot read' },
  321: { kind: 'invalid', why: 'Error validating request (a value IB refuses)' },
  322: {
    kind: 'invalid',
    why:
      'Error processing request (duplicate or invalid id or parameters; "Only 50 simultaneous API historical ' +
      'data requests allowed" by its text: 429 `IB_PACING_VIOLATION`)',
  },
  354: { kind: 'no-data', why: 'Requested market data is not subscribed' },
  366: { kind: 'no-data', why: 'No historical data query found for ticker id' },
  420: { kind: 'pacing', why: 'Invalid real-time query: pacing violation' },
  430: { kind: 'no-data', why: 'Fundamentals data for the security are not available' },
  502: { kind: 'unavailable', why: "Couldn't connect to TWS" },
  503: { kind: 'unavailable', why: 'TWS is out of date and must be upgraded' },
  504: { kind: 'unavailable', why: 'Not connected' },
  505: { kind: 'defect', why: 'Fatal error: unknown message id (the worker sent an unknown message)' },
  1100: { kind: 'unavailable', why: 'Connectivity between IB and TWS has been lost' },
  2110: { kind: 'unavailable', why: 'Connectivity between TWS and server is broken' },
  10089: { kind: 'no-permission', why: 'Requested market data requires additional subscription' },
  10090: { kind: 'no-data', why: 'Part of requested market data is not subscribed' },
  10092: { kind: 'invalid', why: 'Deep market data is not supported for this combination of security and exchange' },
  10147: { kind: 'order-not-found', why: 'OrderId that needs to be cancelled is not found' },
  10148: { kind: 'order-final', why: 'Order can not be cancelled in its state' },
  10168: { kind: 'no-permission', why: 'Requested market data is not subscribed: delayed data not enabled' },
  10182: { kind: 'unavailable', why: 'Failed to request live updates (disconnected)' },
  10197: { kind: 'no-permission', why: 'No market data during competing live session' },
};

for (const code of ORDER_REJECT_CODES) {
  if (REQUEST_CODES[code] === undefined) {
    (REQUEST_CODES as Record<number, CodeEntry>)[code] = { kind: 'order-rejected', why: 'IB refused the order' };
  }
}

function entryOf(code: number, message: string): CodeEntry {
  const e = REQUEST_CODES[code];
  if (code === 162) {
    // 162 carries several HMDS answers: only the pacing one is pacing.
    if (/no data/i.test(message)) return { kind: 'no-data', why: e!.why };
    if (/permission/i.test(message)) return { kind: 'no-permission', why: e!.why };
  }
  // 322 is IB's generic "Error processing request"; one of its causes is a limit, not a bad request.
  if (code === 322 && /simultaneous/i.test(message)) {
    return { kind: 'pacing', why: 'Only 50 simultaneous API historical data requests allowed' };
  }
  if (e !== undefined) return e;
  // IB's numbering: 500–599 are client-side connection errors, 1100–1999 system notices.
  const connectivity = (code >= 500 && code < 600) || (code >= 1100 && code < 2000);
  if (connectivity) return { kind: 'unavailable', why: 'IB connectivity' };
  // Every other code answers what was asked: the caller's request, never the worker's health.
  return { kind: 'invalid', why: 'IB refused the request' };
}

const KIND_BLAME: Record<CodeEntry['kind'], IbBlame> = {
  'contract-not-found': 'request',
  'order-not-found': 'request',
  'order-final': 'request',
  'order-rejected': 'request',
  invalid: 'request',
  'no-data': 'request',
  'no-permission': 'request',
  pacing: 'pacing',
  lines: 'pacing',
  unavailable: 'ib',
  defect: 'defect',
};

export function blameOf(code: number, message = ''): IbBlame {
  return KIND_BLAME[entryOf(code, message).kind];
}

/** Seconds to wait after IB trouble (1100, 502, 504…) before asking again. */
const IB_TROUBLE_RETRY_AFTER = 5;

/**
 * Turns an IB failure of one request into the worker's named error. `context` names the operation so the
 * mapping can tell "unknown order" from "unknown contract".
 */
export function ibErrorToApiError(
  code: number,
  message: string,
  context: { operation: string; orderId?: number; retryAfterSeconds?: number },
): ApiError {
  const details = { operation: context.operation };
  switch (entryOf(code, message).kind) {
    case 'contract-not-found':
      return new ContractNotFoundError(message, details);
    case 'order-not-found':
      return new OrderNotFoundError(context.orderId ?? -1, code, message === '' ? undefined : message);
    case 'order-final':
      return new OrderNotModifiableError(context.orderId ?? -1, 'final', code, message === '' ? undefined : message);
    case 'order-rejected':
      return new OrderRejectedError(message, code, { ...details, orderId: context.orderId });
    case 'pacing':
      if (code === 100) return new PacingLimitError('messages', message, 1, 100);
      // Open historical requests free as they are answered (a keepUpToDate one when it is cancelled).
      if (code === 322) return new PacingLimitError('historical', message, 2, 322);
      return new PacingLimitError('historical', message, 15, code);
    case 'lines':
      return new MarketDataLinesExhaustedError(message, { ibCode: code });
    case 'no-data':
      return new NoDataError(message, code, details);
    case 'no-permission':
      return new NoPermissionError(message, code, details);
    case 'unavailable':
      return new IbUnavailableError(message, code, context.retryAfterSeconds ?? IB_TROUBLE_RETRY_AFTER, details);
    case 'defect':
      return new IbProtocolError(message, code, details);
    case 'invalid':
      return new IbInvalidRequestError(message, code, details);
  }
}

/** One row per IB code the table names: what the caller gets. The worker README's table is this, rendered. */
export function ibErrorTable(): Array<{ ibCode: number; status: number; code: string; blame: IbBlame; why: string }> {
  return Object.keys(REQUEST_CODES)
    .map(Number)
    .sort((a, b) => a - b)
    .map((ibCode) => {
      const e = ibErrorToApiError(ibCode, '', { operation: 'table' });
      return { ibCode, status: e.status, code: e.code, blame: blameOf(ibCode), why: REQUEST_CODES[ibCode]!.why };
    });
}

/** The README table (markdown), generated from {@link ibErrorTable}. */
export function renderIbErrorTable(): string {
  const rows = ibErrorTable().map((r) => `| ${r.ibCode} | ${r.status} | \`${r.code}\` | ${r.blame} | ${r.why} |`);
  return ['| IB code | HTTP | code | blame | IB says |', '|---|---|---|---|---|', ...rows].join('\n');
}
