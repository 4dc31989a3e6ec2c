import { atomResponse } from '../http/atom.js';
import { ATOM_MEDIA_TYPE, feedFormat, FORMAT_PARAM, SSE_CONTENT_TYPE } from '../http/feed-format.js';
import type { RouteContext, RouteResult } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { SseStream } from '../http/sse.js';
import type { FeedConfig } from '../feeds/config.js';
import type { FeedHub } from '../feeds/hub.js';
import { atomDocument, atomResult, oneShot, sseResult, type FeedRequest } from '../feeds/serve.js';
import type { FeedEvent } from '../feeds/types.js';
import type { FeedRequests } from '../ib/feed-requests.js';
import type { NewsService } from '../ib/news.js';
import type { Requests } from '../ib/requests.js';

/** What the feed routes use. */
export interface FeedRouteDeps {
  hub: FeedHub;
  ib: FeedRequests;
  /** Historical news headlines and articles. */
  news: NewsService;
  settings: FeedConfig;
  requests: Pick<Requests, 'assertServing'>;
}

/** Media types of every streaming route besides JSON (for the OpenAPI document). */
export const FEED_PRODUCES = [SSE_CONTENT_TYPE, ATOM_MEDIA_TYPE];

export const FEED_DESCRIPTION =
  'Answers JSON by default; `Accept: text/event-stream` or `?format=sse` streams Server-Sent Events ' +
  '(ids, `status` events on IB outages, heartbeat comments, `Last-Event-ID` resume); ' +
  '`Accept: application/atom+xml` or `?format=atom` returns the recent events as an Atom feed.';

/** Adds the `format` parameter to a feed route's query properties. */
export const withFormat = (properties: Record<string, Schema>): Record<string, Schema> => ({
  ...properties,
  format: FORMAT_PARAM,
});

/** Path and query of this request, for the Atom `self` link (`timeout` is not part of a feed's identity). */
export function selfHref(path: string, query: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && k !== 'timeout') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

/**
 * The three answers of a feed route: `json()` for a plain request; SSE and Atom from the hub. New streams
 * need a serving connection (503 otherwise); streams already open ride out outages with `status` events.
 */
export async function answerFeed(
  d: FeedRouteDeps,
  ctx: RouteContext,
  path: string,
  f: FeedRequest,
  json: () => Promise<RouteResult>,
): Promise<RouteResult> {
  const format = feedFormat(ctx.query, ctx.headers);
  if (format === 'json') return json();
  d.requests.assertServing();
  if (format === 'sse') return sseResult(d.hub, d.settings, ctx, f);
  return atomResult(d.hub, d.settings, ctx, f, selfHref(path, ctx.query));
}

/** The latest state of a feed as one JSON answer (a snapshot, a scanner run, a report). */
export async function latest(
  d: FeedRouteDeps,
  ctx: RouteContext,
  f: FeedRequest,
  operation: string,
): Promise<FeedEvent[]> {
  d.requests.assertServing();
  return oneShot(d.hub, ctx, f, operation);
}

/**
 * A feed that is a single document without an IB subscription (the FA configuration): JSON, one SSE event
 * followed by heartbeats until the caller leaves, or a one-entry Atom feed.
 */
export async function answerDocument(
  d: FeedRouteDeps,
  ctx: RouteContext,
  path: string,
  event: string,
  title: string,
  load: () => Promise<Record<string, unknown>>,
): Promise<RouteResult> {
  const format = feedFormat(ctx.query, ctx.headers);
  const body = await load();
  if (format === 'json') return { body };
  const e: FeedEvent = { id: Date.now(), event, data: body, at: Date.now(), topic: path };
  if (format === 'atom') {
    return atomResponse(atomDocument(title, selfHref(path, ctx.query), [e]));
  }
  return {
    body: undefined,
    respond: (req, res) => {
      const stream = new SseStream(req, res, { heartbeatMs: d.settings.heartbeatMs });
      stream.send({ id: e.id, event: e.event, data: e.data });
      // Nothing more will come; the stream stays open (heartbeats) so EventSource does not re-request it.
      stream.onClose(d.hub.track(() => stream.close()));
    },
  };
}
