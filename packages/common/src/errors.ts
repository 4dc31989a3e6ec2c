/**
 * The one error envelope every ibrest HTTP answer uses:
 * `{"error":{"code":"STABLE_CODE","message":"human text","details":{…},"ibCode":N?}}`.
 *
 * Packages throw subclasses of {@link ApiError}; only the HTTP edge turns them into a response.
 */
export interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    details?: Record<string, unknown>;
    ibCode?: number;
  };
}

export interface ApiErrorOptions {
  /** Structured context for the caller (offending fields, budgets, pending request…). */
  details?: Record<string, unknown>;
  /** IB's own error code when the failure came from IB. */
  ibCode?: number;
  /** Seconds the caller should wait before retrying (sent as `Retry-After`). */
  retryAfter?: number;
  cause?: unknown;
}

/** Base class for every error that has a stable code and an HTTP status. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly ibCode?: number;
  readonly retryAfter?: number;

  constructor(status: number, code: string, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.ibCode = options.ibCode;
    this.retryAfter = options.retryAfter;
  }

  toJSON(): ErrorEnvelope {
    return errorEnvelope(this.code, this.message, this.details, this.ibCode);
  }
}

export function errorEnvelope(
  code: string,
  message: string,
  details?: Record<string, unknown>,
  ibCode?: number,
): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = { code, message };
  if (details !== undefined) error.details = details;
  if (ibCode !== undefined) error.ibCode = ibCode;
  return { error };
}

/** 400: the request is malformed; `details.fields` names what is wrong. */
export class InvalidRequestError extends ApiError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'INVALID_REQUEST', message, { details });
  }
}

export class NotFoundError extends ApiError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(404, code, message, { details });
  }
}

/** 503 with Retry-After: the dependency is down or not ready yet. */
export class UnavailableError extends ApiError {
  constructor(code: string, message: string, retryAfter: number, details?: Record<string, unknown>) {
    super(503, code, message, { retryAfter, details });
  }
}

/** 429 with an exact Retry-After: serving now would break a pacing budget. */
export class PacingError extends ApiError {
  constructor(code: string, message: string, retryAfter: number, details?: Record<string, unknown>) {
    super(429, code, message, { retryAfter, details });
  }
}
