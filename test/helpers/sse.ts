import { checkResponse } from './openapi.js';

/** A minimal Server-Sent Events client over fetch, for tests: collects parsed events until closed. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Comment lines (heartbeats) seen so far. */
  comments: number;
  /** Resolves with the first event matching `predicate` (already received or later). */
  next(predicate?: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
  closed: Promise<void>;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  // The stream's status must be one the proxy's OpenAPI document declares (registered proxies only).
  await checkResponse(url, 'GET', res.status, res.headers, undefined);
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let comments = 0;
  const client: SseClient = {
    status: res.status,
    headers: res.headers,
    events,
    get comments() {
      return comments;
    },
    next(predicate = () => true, timeoutMs = 10_000) {
      return new Promise<SseEvent>((resolve, reject) => {
        let seen = 0;
        const check = (): boolean => {
          for (; seen < events.length; seen++) {
            const e = events[seen]!;
            if (predicate(e)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(e);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching SSE event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(',')}`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () => controller.abort(),
    closed: Promise.resolve(),
  };
  if (!res.ok || !res.body) {
    await res.text().catch(() => undefined);
    return client;
  }
  client.closed = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            else if (line.startsWith('data:')) {
              data.push(line.slice(5).replace(/^ /, ''));
              isEvent = true;
            } else if (line.startsWith('event:')) e.event = line.slice(6).trim();
            else if (line.startsWith('id:')) e.id = line.slice(3).trim();
          }
          if (!isEvent) continue;
          e.data = data.join('\n');
          events.push(e);
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return client;
}
