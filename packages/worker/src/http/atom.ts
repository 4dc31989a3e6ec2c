export const ATOM_NS = 'http://www.w3.org/2005/Atom';
export const ATOM_CONTENT_TYPE = 'application/atom+xml; charset=utf-8';

export interface AtomEntry {
  /** A permanent, unique IRI (e.g. `tag:ibrest,2024:market-data/…/42`). */
  id: string;
  title: string;
  updated: Date | string;
  /** Plain text body (JSON of the event here); escaped, sent as `type="text"`. */
  content?: string;
  summary?: string;
  /** Atom category term (the event name). */
  category?: string;
}

export interface AtomFeed {
  id: string;
  title: string;
  updated: Date | string;
  /** Absolute or root-relative URL of this document (`rel="self"`). */
  selfHref?: string;
  author?: string;
  subtitle?: string;
  entries: AtomEntry[];
}

// XML 1.0 forbids these code points even when escaped; they are dropped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for element content and attribute values alike. */
export function escapeXml(value: string): string {
  return value
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** RFC 3339 date-time as Atom requires. */
function date(value: Date | string): string {
  const d = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

function element(name: string, text: string, attrs = ''): string {
  return `<${name}${attrs}>${escapeXml(text)}</${name}>`;
}

/**
 * An Atom 1.0 (RFC 4287) feed document: the recent entries of one feed, newest first, for readers that
 * poll instead of holding a stream. The feed-level author satisfies the rule that every entry has one.
 */
export function buildAtomFeed(feed: AtomFeed): string {
  const parts = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="${ATOM_NS}">`,
    element('id', feed.id),
    element('title', feed.title),
    ...(feed.subtitle !== undefined ? [element('subtitle', feed.subtitle)] : []),
    element('updated', date(feed.updated)),
    `<author>${element('name', feed.author ?? 'ibrest')}</author>`,
    ...(feed.selfHref !== undefined
      ? [`<link rel="self" type="application/atom+xml" href="${escapeXml(feed.selfHref)}"/>`]
      : []),
    '<generator>ibrest</generator>',
  ];
  for (const e of feed.entries) {
    parts.push(
      '<entry>',
      element('id', e.id),
      element('title', e.title),
      element('updated', date(e.updated)),
      ...(e.category !== undefined ? [`<category term="${escapeXml(e.category)}"/>`] : []),
      ...(e.summary !== undefined ? [element('summary', e.summary)] : []),
      ...(e.content !== undefined ? [element('content', e.content, ' type="text"')] : []),
      '</entry>',
    );
  }
  parts.push('</feed>');
  return `${parts.join('\n')}\n`;
}

/** A tag: URI (RFC 4151) under the ibrest naming authority, stable for the same path. */
export function tagUri(path: string): string {
  return `tag:ibrest,2024:${path.replace(/[^A-Za-z0-9/._~=:-]/g, (c) => encodeURIComponent(c))}`;
}

/** A route result that answers with an Atom document (no caching: a poller wants the newest entries). */
export function atomResponse(xml: string): {
  body: undefined;
  respond(req: unknown, res: import('node:http').ServerResponse): void;
} {
  return {
    body: undefined,
    respond: (_req, res) => {
      res.statusCode = 200;
      res.setHeader('Content-Type', ATOM_CONTENT_TYPE);
      res.setHeader('Cache-Control', 'no-cache');
      res.end(xml);
    },
  };
}
