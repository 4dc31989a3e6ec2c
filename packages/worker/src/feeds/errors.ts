import { ApiError, PacingError } from '@ibrest/common';

/** Every market-depth book this worker may hold is taken (our budget, or IB 309). */
export class MarketDepthBooksExhaustedError extends PacingError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('MARKET_DEPTH_BOOKS_EXHAUSTED', message, 1, details);
  }
}

/** The account is not a financial-advisor account (IB 321 "FA data operations ignored for non-FA customers"). */
export class NotFaAccountError extends ApiError {
  constructor(message: string, ibCode?: number) {
    super(409, 'NOT_FA_ACCOUNT', message, { ibCode });
  }
}
