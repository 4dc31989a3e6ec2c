/**
 * A request's query as either process holds it: the proxy's URLSearchParams (strings), or the worker's
 * parsed and coerced object (numbers, booleans). The shared parsers read both the same way.
 */
export type Query = URLSearchParams | Readonly<Record<string, unknown>>;

/** One parameter as a string: repeated values joined with commas; absent or empty → undefined. */
export function param(q: Query, name: string): string | undefined {
  let v: string;
  if (q instanceof URLSearchParams) {
    const all = q.getAll(name);
    if (all.length === 0) return undefined;
    v = all.join(',');
  } else {
    const raw = q[name];
    if (raw === undefined || raw === null) return undefined;
    v = Array.isArray(raw) ? raw.map(String).join(',') : String(raw);
  }
  v = v.trim();
  return v === '' ? undefined : v;
}

/** Parameters that change the presentation or the deadline of an answer, never what is asked of IB. */
export const PRESENTATION_PARAMS: ReadonlySet<string> = new Set(['format', 'timeout']);

/** Every parameter but the presentation ones, sorted by name then value: `path?a=1&b=2`. */
export function canonicalQuery(q: Query): string {
  const pairs: Array<[string, string]> = [];
  if (q instanceof URLSearchParams) {
    for (const [k, v] of q) if (!PRESENTATION_PARAMS.has(k)) pairs.push([k, v]);
  } else {
    for (const [k, v] of Object.entries(q)) {
      if (PRESENTATION_PARAMS.has(k) || v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) pairs.push([k, String(item)]);
    }
  }
  pairs.sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
