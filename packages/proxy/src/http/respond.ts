import type { ServerResponse } from 'node:http';
import { ApiError, errorEnvelope } from '@ibrest/common';

/** JSON answer produced by the proxy itself. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * The one place a proxy error becomes HTTP: status from the error, envelope body, `Retry-After` for every
 * 429/503. Anything that is not an {@link ApiError} is a defect and answers 500 without internals.
 */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    // The worker's answer already started: the only honest signal left is an aborted response.
    res.destroy();
    return;
  }
  if (err instanceof ApiError) {
    const headers: Record<string, string> = {};
    const retryAfter = err.retryAfter ?? (err.status === 503 || err.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
    if (err.status === 401) headers['www-authenticate'] = 'Bearer';
    const allow = (err as { allow?: readonly string[] }).allow;
    if (err.status === 405 && allow !== undefined) headers.allow = allow.join(', ');
    sendJson(res, err.status, err.toJSON(), headers);
    return;
  }
  sendJson(res, 500, errorEnvelope('INTERNAL_ERROR', 'The proxy failed to handle this request'));
}
