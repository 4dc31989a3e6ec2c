import { request, type ClientRequest } from 'node:http';

export interface ReceivedEvent {
  id?: string;
  event: string;
  data: any;
}

/** A test EventSource over node:http: parses the stream as it arrives; `close()` aborts like a client going away. */
export class SseClient {
  readonly events: ReceivedEvent[] = [];
  comments = 0;
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  ended = false;
  private readonly req: ClientRequest;
  private buf = '';
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    let opened!: () => void;
    let failed!: (err: Error) => void;
    this.opened = new Promise((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    this.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.feed(chunk));
      res.on('end', () => (this.ended = true));
      res.on('error', () => (this.ended = true));
      opened();
    });
    this.req.on('error', (err) => {
      this.ended = true;
      failed(err);
    });
    this.req.end();
  }

  named(event: string): ReceivedEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  close(): void {
    this.req.destroy();
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const e: Partial<ReceivedEvent> & { lines: string[] } = { lines: [] };
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('id: ')) e.id = line.slice(4);
        else if (line.startsWith('event: ')) e.event = line.slice(7);
        else if (line.startsWith('data: ')) e.lines.push(line.slice(6));
      }
      if (comment) this.comments++;
      if (e.lines.length === 0) continue;
      const text = e.lines.join('\n');
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        // plain text data
      }
      this.events.push({ id: e.id, event: e.event ?? 'message', data });
    }
  }
}

/** Tiny well-formedness check of an Atom document: root `feed` in the Atom namespace, entries with ids. */
export function parseAtom(xml: string): { entries: { id: string; content: string }[] } {
  if (!xml.startsWith('<?xml')) throw new Error('no XML declaration');
  const root = /<feed\s+xmlns="([^"]+)"\s*>/.exec(xml);
  if (root?.[1] !== 'http://www.w3.org/2005/Atom') throw new Error(`root is not an Atom feed: ${xml.slice(0, 120)}`);
  if (!xml.trimEnd().endsWith('</feed>')) throw new Error('feed not closed');
  // Every tag must be closed in order (escaping kept the content free of markup).
  const stack: string[] = [];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) throw new Error(`mismatched </${m[2]}>`);
    } else stack.push(m[2]!);
  }
  if (stack.length !== 0) throw new Error(`unclosed ${stack.join(',')}`);
  const unescape = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const entries = [...xml.matchAll(/<entry>([\s\S]*?)<\/entry>/g)].map((m) => ({
    id: unescape(/<id>([^<]*)<\/id>/.exec(m[1]!)?.[1] ?? ''),
    content: unescape(/<content type="text">([^<]*)<\/content>/.exec(m[1]!)?.[1] ?? ''),
  }));
  return { entries };
}
