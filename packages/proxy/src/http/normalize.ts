import { InvalidRequestError } from '@ibrest/common';

export interface NormalizedTarget {
  /** What is forwarded: dot segments resolved, repeated slashes collapsed, original encoding and case kept. */
  forwardUrl: string;
  /** What routing decides on: additionally percent-decoded and lower-cased, so `/Order` or `/%6Frder` cannot dodge the order pin. */
  routePath: string;
  query: URLSearchParams;
}

/**
 * One canonical view of the request target. The worker's router matches paths case-insensitively and may
 * decode them, so the proxy must classify the same way, and forward the same resolved path it classified.
 */
export function normalizeTarget(rawUrl: string | undefined): NormalizedTarget {
  const raw = rawUrl ?? '/';
  if (!raw.startsWith('/')) throw new InvalidRequestError('Expected an origin-form request target starting with "/"', { target: raw.slice(0, 200) });
  const url = new URL('http://proxy.invalid' + raw);
  const pathname = url.pathname.replace(/\/{2,}/g, '/');
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw new InvalidRequestError('Expected a valid percent-encoded path', { target: raw.slice(0, 200) });
  }
  // A decoded path can carry new dot segments or slashes (`%2e%2e`, `%2f`): resolve once more on the decoded form.
  const resolved = new URL('http://proxy.invalid' + decoded.replace(/\/{2,}/g, '/').replace(/\?/g, '%3F').replace(/#/g, '%23')).pathname;
  let routePath = resolved.toLowerCase();
  if (routePath.length > 1 && routePath.endsWith('/')) routePath = routePath.slice(0, -1);
  return { forwardUrl: pathname + url.search, routePath, query: url.searchParams };
}
