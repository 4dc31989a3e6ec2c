import type { IncomingMessage, ServerResponse } from 'node:http';
import { atomResponse, buildAtomFeed, tagUri } from '../http/atom.js';
import type { RouteContext, RouteResult } from '../http/route.js';
import { parseLastEventId, SseStream } from '../http/sse.js';
import { DeadlineExceededError } from '../errors.js';
import type { FeedHub, Subscriber } from './hub.js';
import type { FeedEvent, FeedKind, FeedSource } from './types.js';

/** Feed settings from the worker config. */
export interface FeedSettings {
  /** FEED_HEARTBEAT_MS */
  heartbeatMs: number;
  /** FEED_ATOM_LINGER_MS: how long an Atom poll keeps the IB subscription for the next poll. */
  atomLingerMs: number;
  /** FEED_ATOM_ENTRIES: entries per Atom document. */
  atomEntries: number;
}

export interface FeedRequest {
  kind: FeedKind;
  sources: FeedSource[];
  /** Atom feed title and the path part of its ids. */
  title: string;
  /**
   * How long to wait for the first event before answering (bounded by the deadline). Errors IB reports in
   * that time (unknown contract, no permission) are answered as JSON errors instead of a stream.
   * @default the request deadline
   */
  firstEventWaitMs?: number;
}

const remaining = (ctx: RouteContext) => Math.max(0, ctx.deadline.deadlineAt - Date.now());

/** The SSE answer: attach, wait briefly for the first event (or IB's refusal), then stream. */
export async function sseResult(
  hub: FeedHub,
  settings: FeedSettings,
  ctx: RouteContext,
  f: FeedRequest,
): Promise<RouteResult> {
  const sub = hub.subscribe(f.kind, f.sources, { lastEventId: parseLastEventId(ctx.headers) });
  try {
    await sub.firstData(Math.min(remaining(ctx), f.firstEventWaitMs ?? Number.POSITIVE_INFINITY));
  } catch (err) {
    sub.close();
    throw err;
  }
  return { body: undefined, respond: (req, res) => pipeSse(sub, req, res, settings.heartbeatMs) };
}

/** Writes a caller's events to an SSE response as fast as the socket takes them, never faster. */
export function pipeSse(
  sub: Subscriber,
  req: IncomingMessage,
  res: ServerResponse,
  heartbeatMs: number,
  idOf: (e: FeedEvent) => string | number = (e) => e.id,
): void {
  if (res.destroyed || req.socket.destroyed) {
    sub.close();
    return;
  }
  const stream = new SseStream(req, res, { heartbeatMs });
  let waiting = false;
  const pump = () => {
    let n = 0;
    while (!stream.closed) {
      if (!stream.ready) {
        if (!waiting) {
          waiting = true;
          stream.onDrain(() => {
            waiting = false;
            pump();
          });
        }
        break;
      }
      const e = sub.buffer.shift();
      if (e === undefined) break;
      stream.send({ id: idOf(e), event: e.event, data: e.data });
      n++;
    }
    sub.delivered(n);
  };
  sub.onReadable = pump;
  sub.onEnd = () => {
    pump();
    stream.close();
  };
  stream.onClose(() => sub.close());
  pump();
}

/** The Atom answer: keep the subscription for the next poll, wait for a first event, render the recent ones. */
export async function atomResult(
  hub: FeedHub,
  settings: FeedSettings,
  ctx: RouteContext,
  f: FeedRequest,
  selfHref: string,
): Promise<RouteResult> {
  hub.hold(f.sources, settings.atomLingerMs);
  try {
    await hub.waitForData(f.sources, Math.min(remaining(ctx), f.firstEventWaitMs ?? Number.POSITIVE_INFINITY));
  } catch (err) {
    hub.unhold(f.sources);
    throw err;
  }
  const events = hub.recent(f.sources, settings.atomEntries);
  const body = atomDocument(f.title, selfHref, events);
  return atomResponse(body);
}

export function atomDocument(title: string, selfHref: string, events: FeedEvent[]): string {
  const feedId = tagUri(`feed${selfHref.split('?')[0]}/${title}`);
  return buildAtomFeed({
    id: feedId,
    title,
    updated: new Date(events[0]?.at ?? Date.now()),
    selfHref,
    entries: events.map((e) => ({
      id: `${feedId}/${e.id}`,
      title: e.field !== undefined ? `${e.event} ${e.field}` : e.event,
      updated: new Date(e.at),
      category: e.event,
      content: JSON.stringify(e.data),
    })),
  });
}

/**
 * One-shot form of a feed: attach, wait for the first event of every source, answer the current state
 * (the latest event per field) and detach (the IB subscription is cancelled unless others hold it).
 */
export async function oneShot(
  hub: FeedHub,
  ctx: RouteContext,
  f: FeedRequest,
  operation: string,
): Promise<FeedEvent[]> {
  const sub = hub.subscribe(f.kind, f.sources);
  try {
    await sub.firstData(remaining(ctx));
    // Series feeds (bars) keep no state: their newest event is the answer.
    let events = hub.current(f.sources);
    if (events.length === 0)
      events = hub
        .recent(f.sources, 100)
        .filter((e) => e.event !== 'status')
        .slice(0, 1);
    if (events.length === 0)
      throw new DeadlineExceededError(operation, ctx.deadline.timeoutMs, { sources: f.sources.map((s) => s.key) });
    return events;
  } finally {
    sub.close();
  }
}
