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

/** IB does not know the article (reqNewsArticle answered 321 / 10172 for a well-formed provider and id). */
export class NewsArticleNotFoundError extends ApiError {
  constructor(providerCode: string, articleId: string, message: string, ibCode?: number) {
    super(404, 'NEWS_ARTICLE_NOT_FOUND', `No article ${articleId} from provider ${providerCode}: ${message}`, {
      ibCode,
      details: { providerCode, articleId },
    });
  }
}
