import { atomResponse, buildAtomFeed, tagUri } from '../http/atom.js';
import { ATOM_MEDIA_TYPE, feedFormat } from '../http/feed-format.js';
import type { RouteContext, RouteDef, RouteResult } from '../http/route.js';
import type { FieldError, Schema } from '../http/schema.js';
import { ContractNotFoundError } from '../errors.js';
import { headlineDate, type Headlines } from '../ib/news.js';
import type { RouteDeps } from './deps.js';
import { selfHref } from './feeds-common.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery } from './schemas.js';

/** One provider code as IB spells them (BRFG, BRFUPDN, DJNL, BZ, FLY, …). */
const PROVIDER = '[A-Za-z0-9_]{1,16}';
/** "yyyy-MM-dd HH:mm:ss[.f]" (IB's headline format) or "yyyyMMdd HH:mm:ss", optionally followed by a time zone. */
const NEWS_TIME =
  '^\\d{4}-?\\d{2}-?\\d{2}([ T-]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?)?( [A-Za-z][A-Za-z0-9_/+-]{0,39})?$';
/** IB's own maximum of reqHistoricalNews totalResults. */
const MAX_RESULTS = 300;

const newsTime = (description: string): Schema => ({ type: 'string', pattern: NEWS_TIME, description });

const HEADLINE_QUERY: Record<string, Schema> = {
  conId: CONTRACT_PROPERTIES.conId!,
  symbol: {
    ...CONTRACT_PROPERTIES.symbol!,
    description: 'Symbol, resolved to a conId with one contract-details request (when conId is not given)',
  },
  secType: { ...CONTRACT_PROPERTIES.secType!, description: 'With symbol: security type (default STK)' },
  exchange: { ...CONTRACT_PROPERTIES.exchange!, description: 'With symbol: exchange (default SMART for STK)' },
  primaryExch: CONTRACT_PROPERTIES.primaryExch!,
  currency: { ...CONTRACT_PROPERTIES.currency!, description: 'With symbol: currency (default USD for STK)' },
  providerCodes: {
    type: 'string',
    pattern: `^${PROVIDER}([+ ,]${PROVIDER}){0,19}$`,
    description:
      'Provider codes joined by "+" (as IB takes them; "%2B" in a URL, since a literal "+" arrives as a space, ' +
      'which is accepted too) or ",", e.g. BRFG+DJNL (see /news/providers)',
  },
  startDateTime: newsTime('Oldest headline time, "yyyy-MM-dd HH:mm:ss" (default: as far back as the provider keeps)'),
  endDateTime: newsTime('Newest headline time, same format (default now)'),
  totalResults: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_RESULTS,
    description: `Headlines to return, newest first (1–${MAX_RESULTS}, default 10)`,
  },
  format: {
    type: 'string',
    enum: ['json', 'atom'],
    description: 'json (default) or atom (application/atom+xml); overrides Accept',
  },
};

const HEADLINE_SCHEMA: Schema = {
  type: 'object',
  properties: {
    time: { type: 'string', description: 'IB\'s time, "yyyy-MM-dd HH:mm:ss.0"' },
    providerCode: { type: 'string' },
    articleId: { type: 'string', description: 'With providerCode: the key of GET /news/article' },
    headline: { type: 'string' },
  },
};

/** Comparable form of a validated news time without a zone (digits only, padded), to refuse a start after the end. */
const sortable = (t: string) => t.replace(/\D/g, '').padEnd(17, '0');
const zoned = (t: string) => / [A-Za-z]/.test(t);

function headlineProblems(q: Record<string, any>): FieldError[] {
  const out: FieldError[] = [];
  if (q.conId === undefined && q.symbol === undefined)
    out.push({ field: 'query.conId', message: 'or query.symbol is required' });
  const [start, end] = [q.startDateTime, q.endDateTime];
  // Times with a zone are left to IB: comparing them needs the zone database.
  if (
    typeof start === 'string' &&
    typeof end === 'string' &&
    !zoned(start) &&
    !zoned(end) &&
    sortable(start) > sortable(end)
  ) {
    out.push({
      field: 'query.startDateTime',
      message: `expected a time before endDateTime, got ${JSON.stringify(q.startDateTime)}`,
    });
  }
  return out;
}

/** The headlines as an Atom feed: one entry per headline, its id the article's key (providerCode:articleId). */
function headlinesAtom(ctx: RouteContext, title: string, feedKey: string, answer: Headlines): RouteResult {
  const entries = answer.headlines.map((h) => ({
    id: `${h.providerCode}:${h.articleId}`,
    title: h.headline,
    updated: headlineDate(h.time) ?? new Date(0),
    category: h.providerCode,
    content: JSON.stringify(h),
  }));
  const doc = buildAtomFeed({
    id: tagUri(`feed/news/headlines/${feedKey}`),
    title,
    updated: entries[0]?.updated ?? new Date(),
    selfHref: selfHref('/news/headlines', ctx.query),
    entries,
  });
  return atomResponse(doc);
}

/** News headlines (reqHistoricalNews) and articles (reqNewsArticle); bulletins and providers are in feeds-info.ts. */
export function newsRoutes(deps: RouteDeps): RouteDef[] {
  const d = deps.feeds;
  return [
    {
      method: 'get',
      path: '/news/headlines',
      operationId: 'getNewsHeadlines',
      summary:
        'Historical news headlines of a contract (reqHistoricalNews), newest first; ' +
        'identical requests in flight share one IB request',
      description:
        'JSON by default; `Accept: application/atom+xml` or `?format=atom` answers an Atom feed ' +
        'with one entry per headline (entry id `providerCode:articleId`). ' +
        'IB offers no cancel for this request: ' +
        "past the deadline the answer is 504 and IB's late answer is dropped.",
      tag: 'feeds',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, required: ['providerCodes'], properties: HEADLINE_QUERY },
      response: {
        type: 'object',
        properties: {
          conId: { type: 'integer' },
          headlines: { type: 'array', items: HEADLINE_SCHEMA },
          hasMore: { type: 'boolean' },
        },
      },
      produces: [ATOM_MEDIA_TYPE],
      errors: { 400: ['IB_INVALID_REQUEST'], 404: ['CONTRACT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const q = ctx.query;
        assertNoProblems(headlineProblems(q));
        const providerCodes = [...new Set((q.providerCodes as string).split(/[+ ,]/).map((p) => p.toUpperCase()))];
        let conId = q.conId as number | undefined;
        if (conId === undefined) {
          const contract = contractFromQuery({
            symbol: q.symbol,
            secType: q.secType,
            exchange: q.exchange,
            primaryExch: q.primaryExch,
            currency: q.currency,
          });
          const first = (await deps.contracts.getDetails(contract, ctx.deadline))[0]?.contract as
            { conId?: number } | undefined;
          if (first?.conId === undefined)
            throw new ContractNotFoundError('No contract matches the symbol', { contract });
          conId = first.conId;
        }
        const answer = await d.news.headlines(
          {
            conId,
            providerCodes,
            startDateTime: q.startDateTime ?? '',
            endDateTime: q.endDateTime ?? '',
            totalResults: q.totalResults ?? 10,
          },
          ctx.deadline,
        );
        // Accept: text/event-stream is not offered here (headlines are a query, not a stream): JSON answers it.
        if (feedFormat(q, ctx.headers) === 'atom') {
          const title = `news headlines ${q.symbol ?? conId} (${providerCodes.join('+')})`;
          return headlinesAtom(ctx, title, `${conId}/${providerCodes.join('+')}`, answer);
        }
        return { body: { conId, ...answer } };
      },
    },
    {
      method: 'get',
      path: '/news/article',
      operationId: 'getNewsArticle',
      summary: 'One news article (reqNewsArticle) by provider and article id (from /news/headlines)',
      description:
        'articleType 0 is text or HTML, 1 a binary document (base64-encoded PDF). ' +
        'IB offers no cancel for this request.',
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        required: ['providerCode', 'articleId'],
        properties: {
          providerCode: { type: 'string', pattern: `^${PROVIDER}$`, description: 'Provider code, e.g. BRFG' },
          articleId: {
            type: 'string',
            pattern: '^[!-~]{1,128}$',
            description:
              'Article id as /news/headlines returned it, e.g. BRFG$04fb9da2 ("%24" for "$" in a URL is fine)',
          },
        },
      },
      response: { type: 'object', properties: { articleType: { type: 'integer' }, articleText: { type: 'string' } } },
      errors: { 404: ['NEWS_ARTICLE_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => ({
        body: await d.news.article((query.providerCode as string).toUpperCase(), query.articleId as string, deadline),
      }),
    },
  ];
}
