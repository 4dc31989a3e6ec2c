import { atomResponse } from '../http/atom.js';
import { feedFormat } from '../http/feed-format.js';
import type { RouteContext, RouteResult } from '../http/route.js';
import { parseLastEventId } from '../http/sse.js';
import type { AccountFeed, AccountStreamFilter } from '../feeds/account-feed.js';
import { atomDocument, pipeSse } from '../feeds/serve.js';
import type { FeedKind } from '../feeds/types.js';
import { selfHref } from './feeds-common.js';

/** Settings the account streams share with the other feeds. */
export interface AccountStreamSettings {
  heartbeatMs: number;
  atomEntries: number;
}

/**
 * Answers an account route in the format asked for: `json()` as before, or the mirror's changes as SSE
 * (current state first, `Last-Event-ID` resume) or as an Atom document of the recent events.
 */
export function answerAccount(
  feed: AccountFeed,
  settings: AccountStreamSettings,
  ctx: RouteContext,
  path: string,
  stream: { kind: FeedKind; title: string; filter: AccountStreamFilter },
  json: () => Promise<RouteResult> | RouteResult,
): Promise<RouteResult> | RouteResult {
  const format = feedFormat(ctx.query, ctx.headers);
  if (format === 'json') return json();
  if (format === 'atom') {
    return atomResponse(
      atomDocument(stream.title, selfHref(path, ctx.query), feed.recent(stream.filter, settings.atomEntries)),
    );
  }
  const sub = feed.subscribe(stream.kind, stream.filter, parseLastEventId(ctx.headers));
  return { body: undefined, respond: (req, res) => pipeSse(sub, req, res, settings.heartbeatMs, (e) => feed.sseId(e)) };
}
