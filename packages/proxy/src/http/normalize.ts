import { InvalidRequestError } from '@ibrest/common';

export interface NormalizedTarget {
  /** What is forwarded: dot segments resolved, repeated slashes collapsed, original encoding and case kept. */
  forwardUrl: string;
  /**
   * What routing decides on: additionally percent-decoded and lower-cased, so `/Order` or `/%6Frder` cannot dodge the
   * order pin.
   */
  routePath: string;
  query: URLSearchParams;
}

/**
 * Targets that are already canonical: every path segment starts with a character other than `.` (so no dot
 * segments) and holds only unreserved characters (nothing to decode, nothing the URL parser would re-encode,
 * no empty segment, so no `//`), and the query holds no character the parser would re-encode, no fragment.
 * For these the general parse below returns the input unchanged, so it is skipped (most API calls).
 */
const CANONICAL = /^(?:\/|(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+\/?)(?:\?([A-Za-z0-9._~!$&()*+,;=:@/?%-]*))?$/;

/**
 * One canonical view of the request target. The worker's router matches paths case-insensitively and may
 * decode them, so the proxy must classify the same way, and forward the same resolved path it classified.
 */
export function normalizeTarget(rawUrl: string | undefined): NormalizedTarget {
  const raw = rawUrl ?? '/';
  const fast = CANONICAL.exec(raw);
  if (fast !== null) {
    const search = fast[1];
    const pathname = search === undefined ? raw : raw.slice(0, raw.length - search.length - 1);
    let routePath = pathname.toLowerCase();
    if (routePath.length > 1 && routePath.endsWith('/')) routePath = routePath.slice(0, -1);
    // The parser drops an empty query (`/a?` → `/a`). The `?` prefix: URLSearchParams strips one leading `?`.
    return {
      forwardUrl: search === undefined || search === '' ? pathname : raw,
      routePath,
      query: new URLSearchParams(search === undefined ? '' : '?' + search),
    };
  }
  return parseTarget(raw);
}

/** The general case: WHATWG parsing, percent-decoding and dot-segment resolution. Exported for tests. */
export function parseTarget(raw: string): NormalizedTarget {
  if (!raw.startsWith('/'))
    throw new InvalidRequestError('Expected an origin-form request target starting with "/"', {
      target: raw.slice(0, 200),
    });
  const url = new URL('http://proxy.invalid' + raw);
  const pathname = url.pathname.replace(/\/{2,}/g, '/');
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw new InvalidRequestError('Expected a valid percent-encoded path', { target: raw.slice(0, 200) });
  }
  // A decoded path can carry new dot segments or slashes (`%2e%2e`, `%2f`): resolve once more on the decoded form.
  const resolved = new URL(
    'http://proxy.invalid' +
      decoded
        .replace(/\/{2,}/g, '/')
        .replace(/\?/g, '%3F')
        .replace(/#/g, '%23'),
  ).pathname;
  let routePath = resolved.toLowerCase();
  if (routePath.length > 1 && routePath.endsWith('/')) routePath = routePath.slice(0, -1);
  return { forwardUrl: pathname + url.search, routePath, query: url.searchParams };
}
