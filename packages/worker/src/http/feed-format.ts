import type { Schema } from './schema.js';

/** How a feed route answers: one JSON document, a Server-Sent Events stream, or an Atom document. */
export type FeedFormat = 'json' | 'sse' | 'atom';

export const SSE_CONTENT_TYPE = 'text/event-stream';
export const ATOM_MEDIA_TYPE = 'application/atom+xml';

/** The `format` query parameter of every feed route (the proxy ignores it when hashing a stream key). */
export const FORMAT_PARAM: Schema = {
  type: 'string',
  enum: ['json', 'sse', 'atom'],
  description: 'json (one-shot, default), sse (text/event-stream) or atom (application/atom+xml); overrides Accept',
};

/**
 * `?format=` wins; otherwise the Accept header: `text/event-stream` → sse, `application/atom+xml` → atom,
 * anything else (including none) → json. The first of the two media types listed in Accept wins.
 */
export function feedFormat(query: Record<string, unknown>, headers: Record<string, string | string[] | undefined>): FeedFormat {
  const f = query.format;
  if (f === 'json' || f === 'sse' || f === 'atom') return f;
  const raw = headers.accept;
  const accept = (Array.isArray(raw) ? raw.join(',') : raw ?? '').toLowerCase();
  const sse = accept.indexOf(SSE_CONTENT_TYPE);
  const atom = accept.indexOf(ATOM_MEDIA_TYPE);
  if (sse >= 0 && (atom < 0 || sse < atom)) return 'sse';
  if (atom >= 0) return 'atom';
  return 'json';
}
