import { feedFormat as sharedFeedFormat, type FeedFormat } from '@ibrest/contract';
import type { Schema } from './schema.js';

export { ATOM_MEDIA_TYPE, SSE_CONTENT_TYPE, type FeedFormat } from '@ibrest/contract';

/** The `format` query parameter of every feed route (the proxy ignores it when hashing a stream key). */
export const FORMAT_PARAM: Schema = {
  type: 'string',
  enum: ['json', 'sse', 'atom'],
  description: 'json (one-shot, default), sse (text/event-stream) or atom (application/atom+xml); overrides Accept',
};

/** `?format=` wins, else the Accept header (the rule lives in @ibrest/contract: the proxy reads it too). */
export function feedFormat(
  query: Record<string, unknown>,
  headers: Record<string, string | string[] | undefined>,
): FeedFormat {
  return sharedFeedFormat(query, headers.accept);
}
