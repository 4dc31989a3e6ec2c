import { ApiError, PacingError, UnavailableError } from '@ibrest/common';

/**
 * The worker's named errors. Each carries a stable `code` and its HTTP status; only
 * `http/error-handler.ts` turns them into responses. The table in the README lists them all.
 */

/** IB 200: no security definition matches the contract. */
export class ContractNotFoundError extends ApiError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(404, 'CONTRACT_NOT_FOUND', message, { ibCode: 200, details });
  }
}

/** IB 162/100/101 or our own budget: serving now would violate a pacing rule. */
export class PacingLimitError extends ApiError {
  constructor(
    kind: string,
    message: string,
    retryAfterSeconds: number,
    ibCode?: number,
    details?: Record<string, unknown>,
  ) {
    super(429, ibCode === undefined ? 'PACING_LIMIT' : 'IB_PACING_VIOLATION', message, {
      retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
      ibCode,
      details: { kind, ...details },
    });
  }
}

/** Every market-data line this worker may hold is taken (our budget, or IB 101). */
export class MarketDataLinesExhaustedError extends PacingError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('MARKET_DATA_LINES_EXHAUSTED', message, 1, details);
  }
}

/** IB 201/202 (and other order refusals): the order was rejected or cancelled by IB. */
export class OrderRejectedError extends ApiError {
  constructor(message: string, ibCode: number | undefined, details?: Record<string, unknown>) {
    super(422, 'ORDER_REJECTED', message, { ibCode, details });
  }
}

/** Unknown order id (in the mirror, or IB 10147/135). */
export class OrderNotFoundError extends ApiError {
  constructor(orderId: number, ibCode?: number, ibText?: string) {
    const ib = ibText === undefined ? '' : ` (IB: ${ibText})`;
    super(404, 'ORDER_NOT_FOUND', `Order ${orderId} is not known${ib}`, { ibCode, details: { orderId } });
  }
}

/** The order is already final (filled, cancelled, inactive) and cannot be changed any more. */
export class OrderNotModifiableError extends ApiError {
  constructor(orderId: number, status: string, ibCode?: number, ibText?: string) {
    const ib = ibText === undefined ? '' : ` (IB: ${ibText})`;
    super(409, 'ORDER_NOT_MODIFIABLE', `Order ${orderId} is ${status} and can no longer be changed${ib}`, {
      ibCode,
      details: { orderId, status },
    });
  }
}

/** The IB connection is not ready (connecting, outage, 326); requests are refused without reaching IB. */
export class IbNotReadyError extends UnavailableError {
  constructor(state: string, retryAfterSeconds: number, details?: Record<string, unknown>) {
    super('IB_NOT_READY', `The IB connection is ${state}`, Math.max(1, Math.ceil(retryAfterSeconds)), {
      state,
      ...details,
    });
  }
}

/** A mirror read while the mirror has never been synced: there is no state, stale or not, to answer from. */
export class MirrorNotSyncedError extends UnavailableError {
  constructor(state: string, retryAfterSeconds: number) {
    const message = `The IB connection is ${state} and has not been synced yet`;
    super('MIRROR_NOT_SYNCED', message, Math.max(1, Math.ceil(retryAfterSeconds)), { state });
  }
}

/** The connection was lost while a request was pending at IB. */
export class IbConnectionLostError extends UnavailableError {
  constructor(operation: string, retryAfterSeconds: number) {
    super(
      'IB_CONNECTION_LOST',
      `The IB connection was lost during ${operation}`,
      Math.max(1, Math.ceil(retryAfterSeconds)),
      { operation },
    );
  }
}

/** The request's deadline passed; the IB-side request has been cancelled where IB allows it. */
export class DeadlineExceededError extends ApiError {
  constructor(operation: string, timeoutMs: number, details?: Record<string, unknown>) {
    super(504, 'DEADLINE_EXCEEDED', `${operation} did not complete within ${timeoutMs} ms`, {
      details: { operation, timeoutMs, ...details },
    });
  }
}

/** IB refused the request's parameters (321, 322, …). */
export class IbInvalidRequestError extends ApiError {
  constructor(message: string, ibCode: number, details?: Record<string, unknown>) {
    super(400, 'IB_INVALID_REQUEST', message, { ibCode, details });
  }
}

/** IB or its link is in trouble (1100, 502, 504, 2110…): not the caller's fault, not the worker's defect. */
export class IbUnavailableError extends ApiError {
  constructor(message: string, ibCode: number, retryAfterSeconds: number, details?: Record<string, unknown>) {
    super(503, 'IB_UNAVAILABLE', message, { ibCode, retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)), details });
  }
}

/** IB could not read what the worker sent (320, 505): a defect of ours. */
export class IbProtocolError extends ApiError {
  constructor(message: string, ibCode: number, details?: Record<string, unknown>) {
    super(500, 'IB_PROTOCOL_ERROR', message, { ibCode, details });
  }
}

/** The account lacks the market-data subscription or permission the request needs (10089, 10167…). */
export class NoPermissionError extends ApiError {
  constructor(message: string, ibCode: number, details?: Record<string, unknown>) {
    super(403, 'IB_NO_PERMISSION', message, { ibCode, details });
  }
}

/** IB has no data for the request (e.g. no PnL for an unknown account, an empty historical query). */
export class NoDataError extends ApiError {
  constructor(message: string, ibCode?: number, details?: Record<string, unknown>) {
    super(404, 'NO_DATA', message, { ibCode, details });
  }
}
