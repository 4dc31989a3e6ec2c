import { checkResponse } from './openapi.js';

/** Poll-until assertions: retry `probe` until it returns without throwing, or fail with its last error. */
export async function eventually<T>(probe: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`condition not met within ${timeoutMs} ms: ${why}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * fetch + JSON body (or text when the body is not JSON). An answer from a registered proxy is checked
 * against the proxy's OpenAPI document (helpers/openapi.ts) and throws when it does not match.
 */
export async function http<T = any>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  await checkResponse(url, init.method ?? 'GET', res.status, res.headers, body);
  return { status: res.status, headers: res.headers, body: body as T };
}
