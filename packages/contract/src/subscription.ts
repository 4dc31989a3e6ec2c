import { canonicalQuery, param, type Query } from './query.js';

/** How a feed route answers: one JSON document, a Server-Sent Events stream, or an Atom document. */
export type FeedFormat = 'json' | 'sse' | 'atom';

export const SSE_CONTENT_TYPE = 'text/event-stream';
export const ATOM_MEDIA_TYPE = 'application/atom+xml';

/**
 * `?format=` wins; otherwise the Accept header: `text/event-stream` → sse, `application/atom+xml` → atom,
 * anything else (including none) → json. The first of the two media types listed in Accept wins.
 */
export function feedFormat(q: Query, accept: string | readonly string[] | undefined): FeedFormat {
  const f = param(q, 'format');
  if (f === 'json' || f === 'sse' || f === 'atom') return f;
  const a = (Array.isArray(accept) ? accept.join(',') : ((accept as string | undefined) ?? '')).toLowerCase();
  const sse = a.indexOf(SSE_CONTENT_TYPE);
  const atom = a.indexOf(ATOM_MEDIA_TYPE);
  if (sse >= 0 && (atom < 0 || sse < atom)) return 'sse';
  if (atom >= 0) return 'atom';
  return 'json';
}

/** Whether a request on a feed route asks for a stream (SSE or Atom) rather than a one-shot JSON answer. */
export function isStreamRequest(accept: string | readonly string[] | undefined, q: Query): boolean {
  return feedFormat(q, accept) !== 'json';
}

/**
 * The identity of one subscription: the path and every parameter except the presentation ones (`format`,
 * `timeout`), sorted. Every caller of one key shares one IB subscription on one worker.
 */
export function subscriptionKey(path: string, q: Query): string {
  return `${path}?${canonicalQuery(q)}`;
}
