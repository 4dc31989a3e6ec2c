import { article, headlines, NEWS_PROVIDERS, newsTime, parseNewsTime } from '../engine/news.js';
import { historicalNews, historicalNewsEnd, newsArticle, newsBulletin, newsProviders } from '../encode/feeds.js';
import { readHistoricalNews, readNewsArticle } from '../decode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import type { Bulletin } from '../engine/feed-state.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';
import { NO_SECURITY_DEFINITION } from './contracts.js';

const validationError = (cause: string): string => `Error validating request:-'bZ' : cause - ${cause}`;

/** A new bulletin goes to every client subscribed with REQ_NEWS_BULLETINS. */
export function broadcastBulletin(ctx: SimContext, b: Bulletin): void {
  if (ctx.isLinkDown()) return;
  for (const s of ctx.readySessions())
    if (s.subs.newsBulletins) s.send(newsBulletin(b.id, b.type, b.message, b.exchange));
}

function reqNewsBulletins(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const allMsgs = r.readBool('allMsgs');
  s.subs.newsBulletins = true;
  // allMsgs: the day's bulletins so far, then new ones as they come.
  if (allMsgs) for (const b of ctx.feeds.bulletins) s.send(newsBulletin(b.id, b.type, b.message, b.exchange));
}

function reqHistoricalNews(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readHistoricalNews(r);
  const c = ctx.engine.catalogue.byConId(req.conId);
  if (!c) {
    s.sendError(req.reqId, 200, NO_SECURITY_DEFINITION);
    return;
  }
  const start = parseNewsTime(req.startDateTime);
  const end = parseNewsTime(req.endDateTime);
  if (start === 'invalid' || end === 'invalid') {
    s.sendError(req.reqId, 321, validationError('Invalid start or end date/time.'));
    return;
  }
  const known = req.providerCodes.filter((p) => NEWS_PROVIDERS.some((n) => n.code === p));
  const max = Math.min(300, Math.max(1, req.totalResults || 10));
  const now = ctx.engine.clock.now();
  const { items, hasMore } = headlines(ctx.engine.seed, c, known, start ?? 0, Math.min(end ?? now, now), max);
  for (const h of items) s.send(historicalNews(req.reqId, newsTime(h.time), h.provider, h.articleId, h.headline));
  s.send(historicalNewsEnd(req.reqId, hasMore));
}

function reqNewsArticle(ctx: SimContext, s: Session, r: FieldReader): void {
  const req = readNewsArticle(r);
  const text = article(ctx.engine.seed, (id) => ctx.engine.catalogue.byConId(id), req.providerCode, req.articleId);
  if (text === undefined) {
    s.sendError(
      req.reqId,
      321,
      validationError(`Invalid article id ${req.articleId} for provider ${req.providerCode}.`),
    );
    return;
  }
  s.send(newsArticle(req.reqId, 0, text));
}

export const NEWS_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_NEWS_BULLETINS, { name: 'REQ_NEWS_BULLETINS', handle: reqNewsBulletins }],
  [
    IN.CANCEL_NEWS_BULLETINS,
    {
      name: 'CANCEL_NEWS_BULLETINS',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.newsBulletins = false;
      },
    },
  ],
  [IN.REQ_NEWS_PROVIDERS, { name: 'REQ_NEWS_PROVIDERS', handle: (_ctx, s) => s.send(newsProviders(NEWS_PROVIDERS)) }],
  [IN.REQ_HISTORICAL_NEWS, { name: 'REQ_HISTORICAL_NEWS', handle: reqHistoricalNews }],
  [IN.REQ_NEWS_ARTICLE, { name: 'REQ_NEWS_ARTICLE', handle: reqNewsArticle }],
];
