import type { HttpMethod, RouteEntry } from './manifest.js';

export interface CompiledRoute {
  entry: RouteEntry;
  regex: RegExp;
  names: string[];
  /** Static segments: a more specific pattern wins (`/order/events` over `/order/:orderId`). */
  statics: number;
}

export type MatchResult =
  | { kind: 'route'; entry: RouteEntry; params: Record<string, string> }
  /** The path exists, not with this method: 405 with `Allow`. */
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' };

/** Express-style path (`/order/:orderId`) → anchored regex over a decoded path (case-insensitive, like express). */
export function compilePath(path: string): { regex: RegExp; names: string[]; statics: number } {
  const names: string[] = [];
  let statics = 0;
  const source = path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      if (seg !== '') statics += 1;
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}/?$`, 'i'), names, statics };
}

/** `GET` routes answer `HEAD` too (as express does); the order is the one `Allow` lists. */
const METHOD_ORDER: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];

/** A matcher over some manifest entries: method + path → entry, or the methods the path allows. */
export class RouteMatcher {
  private readonly routes: CompiledRoute[];

  constructor(entries: readonly RouteEntry[]) {
    this.routes = entries.map((entry) => ({ entry, ...compilePath(entry.path) })).sort((a, b) => b.statics - a.statics);
  }

  match(method: string, path: string): MatchResult {
    const m = method.toUpperCase();
    const want: HttpMethod | undefined =
      m === 'HEAD' ? 'GET' : METHOD_ORDER.includes(m) ? (m as HttpMethod) : undefined;
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const hit = r.regex.exec(path);
      if (hit === null) continue;
      if (r.entry.method === want) {
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => (params[n] = hit[i + 1]!));
        return { kind: 'route', entry: r.entry, params };
      }
      allowed.add(r.entry.method);
      if (r.entry.method === 'GET') allowed.add('HEAD');
    }
    if (allowed.size === 0) return { kind: 'none' };
    return { kind: 'method', allow: METHOD_ORDER.filter((x) => allowed.has(x)) };
  }
}
