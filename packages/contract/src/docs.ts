import { ROUTES, type RouteEntry } from './manifest.js';

/** Marks around a generated table in a Markdown file; the text between them is replaced as a whole. */
export const TABLE_BEGIN =
  '<!-- route-manifest:begin (generated from packages/contract; npm run docs -w @ibrest/contract) -->';
export const TABLE_END = '<!-- route-manifest:end -->';

function target(r: RouteEntry): string {
  if (r.target === 'sticky')
    return `sticky (${r.sticky === 'request' ? 'request identity' : 'subscription key, streams'})`;
  if (r.target === 'order') return 'order worker (clientId 0)';
  if (r.target === 'local') return r.owner === 'proxy' ? 'proxy' : 'worker only';
  return 'any worker';
}

function budget(r: RouteEntry): string {
  if (r.budget === undefined) return '';
  if (r.budget.class === 'depth') return 'depth books: 1';
  return r.id === 'getMarketData' ? 'lines: 1 per contract' : 'lines: 1';
}

const PACING_DOC: Record<NonNullable<RouteEntry['pacing']> | 'none', string> = {
  historical: 'historical (bars ≤ 30 s; 50 open)',
  'historical-open': 'historical (50 open)',
  none: '',
};

/** The manifest as a Markdown table: one row per route, every field the proxy and the worker read. */
export function renderRouteTable(entries: readonly RouteEntry[] = ROUTES): string {
  const rows = entries.map((r) =>
    [
      `\`${r.method} ${r.path}\``,
      `\`${r.id}\``,
      target(r),
      r.needs.length === 0 ? '—' : r.needs.join(', '),
      r.scope ?? 'open',
      r.retry ? 'yes' : 'no',
      [budget(r), PACING_DOC[r.pacing ?? 'none'], r.idempotent ? 'Idempotency-Key' : '']
        .filter((x) => x !== '')
        .join('; ') || '—',
      r.maintenance,
    ].join(' | '),
  );
  return [
    '| route | id | target | needs | scope | retry | budget / pacing | maintenance window |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

/** Replaces the generated block of `markdown` (between TABLE_BEGIN and TABLE_END) with `table`. */
export function replaceTable(markdown: string, table: string): string {
  const start = markdown.indexOf(TABLE_BEGIN);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('no generated route table block in this document');
  return `${markdown.slice(0, start + TABLE_BEGIN.length)}\n${table}\n${markdown.slice(end)}`;
}

/** The generated block of `markdown`, or undefined when it has none. */
export function extractTable(markdown: string): string | undefined {
  const start = markdown.indexOf(TABLE_BEGIN);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + TABLE_BEGIN.length, end).trim();
}
