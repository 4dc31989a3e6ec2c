import { EventName } from '@stoqey/ib';
import { NewsArticleNotFoundError } from '../feeds/errors.js';
import type { WorkerMetrics } from '../metrics.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { Requests } from './requests.js';

export interface HeadlineQuery {
  conId: number;
  /** Provider codes as IB takes them, e.g. ["BRFG", "DJNL"] (sent joined by "+"). */
  providerCodes: string[];
  /** "yyyy-MM-dd HH:mm:ss[.0]" or "" for an open start. */
  startDateTime: string;
  /** Same format; "" for now. */
  endDateTime: string;
  /** 1–300 (IB's maximum). */
  totalResults: number;
}

export interface Headline {
  /** IB's text, "yyyy-MM-dd HH:mm:ss.0". */
  time: string;
  providerCode: string;
  articleId: string;
  headline: string;
}

export interface Headlines {
  headlines: Headline[];
  /** IB cut the list at totalResults: older headlines exist in the range. */
  hasMore: boolean;
}

export interface Article {
  /** 0 plain text or HTML, 1 binary (base64-encoded PDF). */
  articleType: number;
  articleText: string;
}

/**
 * IB error codes that mean "no such article" for reqNewsArticle: IB validates the id server-side and answers
 * 321 ("Error validating request … Invalid article id") — the parameters themselves were checked before
 * sending, so 321 here can only be the id — or 10172 ("Failed to request news article").
 */
const ARTICLE_NOT_FOUND_CODES = new Set([321, 10172]);

/**
 * Historical news headlines (reqHistoricalNews) and articles (reqNewsArticle). Both are one-shot requests
 * paced like every message; IB offers no cancel for either, so a deadline answers 504 and a late answer is
 * dropped with its reqId. Identical requests in flight share one IB request (like historical bars).
 */
export class NewsService {
  private readonly headlineRuns = new Coalescer<Headlines>(0, () =>
    this.metrics?.coalesced.inc({ kind: 'historical_news' }),
  );
  private readonly articleRuns = new Coalescer<Article>(0, () => this.metrics?.coalesced.inc({ kind: 'news_article' }));

  constructor(
    private readonly requests: Requests,
    private readonly metrics?: WorkerMetrics,
  ) {}

  headlines(q: HeadlineQuery, d: Deadline): Promise<Headlines> {
    const providers = q.providerCodes.join('+');
    const key = JSON.stringify([q.conId, [...q.providerCodes].sort(), q.startDateTime, q.endDateTime, q.totalResults]);
    return this.headlineRuns.run(key, () => {
      const out: Headline[] = [];
      return this.requests.run<Headlines>({
        operation: 'historical_news',
        ...d,
        send: (api, reqId) =>
          api.reqHistoricalNews(reqId, q.conId, providers, q.startDateTime, q.endDateTime, q.totalResults),
        onEvent: (name, args, done) => {
          if (name === EventName.historicalNews) {
            const [time, providerCode, articleId, headline] = args as [string, string, string, string];
            out.push({ time, providerCode, articleId, headline });
          } else if (name === EventName.historicalNewsEnd) done({ headlines: out, hasMore: args[0] === true });
        },
        partial: () => ({ headlines: out.length }),
      });
    });
  }

  article(providerCode: string, articleId: string, d: Deadline): Promise<Article> {
    return this.articleRuns.run(JSON.stringify([providerCode, articleId]), () =>
      this.requests.run<Article>({
        operation: 'news_article',
        ...d,
        send: (api, reqId) => api.reqNewsArticle(reqId, providerCode, articleId),
        onEvent: (name, args, done) => {
          if (name === EventName.newsArticle)
            done({ articleType: Number(args[0]), articleText: String(args[1] ?? '') });
        },
        onError: (e) =>
          ARTICLE_NOT_FOUND_CODES.has(e.code)
            ? new NewsArticleNotFoundError(providerCode, articleId, e.message, e.code)
            : undefined,
      }),
    );
  }
}

/** IB's headline time ("yyyy-MM-dd HH:mm:ss.0", UTC) as a Date; undefined when it does not parse. */
export function headlineDate(time: string): Date | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})[ T-]?(\d{2})?:?(\d{2})?:?(\d{2})?/.exec(time.trim());
  if (!m) return undefined;
  const ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
