import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { fromRoot } from './deploy-tools.js';

export const DASHBOARD_DIR = fromRoot('deploy', 'grafana', 'dashboards');
export const RULES_DIR = fromRoot('deploy', 'prometheus', 'rules');

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  file: string;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      ...(JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Omit<Dashboard, 'file'>),
      file,
    }));
}

function flatten(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
}

export function allPanels(d: Dashboard): Panel[] {
  return flatten(d.panels);
}

export function panelQueries(dashboards: Dashboard[] = loadDashboards()): PanelQuery[] {
  return dashboards.flatMap((d) =>
    allPanels(d).flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        dashboard: d.title,
        panel: p.title ?? '(untitled)',
        refId: t.refId ?? '?',
        expr: t.expr ?? '',
      })),
    ),
  );
}

export interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  for?: string;
}

export function loadAlertRules(): AlertRule[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml'))
    .flatMap((f) => {
      const doc = yaml.load(readFileSync(join(RULES_DIR, f), 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
      return doc.groups.flatMap((g) => g.rules);
    });
}

/**
 * Grafana's built-in variables replaced by concrete durations so the expression is plain PromQL. The
 * dashboards use no other variables (the test fails on any `$` left over).
 */
export function grafanaToPromql(
  expr: string,
  durations: { rateInterval: string; range: string; interval: string },
): string {
  return expr
    .replaceAll('$__rate_interval', durations.rateInterval)
    .replaceAll('$__range', durations.range)
    .replaceAll('$__interval', durations.interval);
}

const NOT_METRICS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names an expression selects. Strings, label matchers, ranges and label lists are removed first;
 * what is left that looks like an identifier and is not a function call or keyword is a metric name.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[\w.]+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!NOT_METRICS.has(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names];
}

/** Every `ibworker_*` / `ibproxy_*` name in the metric tables of docs/architecture.md, with its type. */
export function documentedMetrics(): Map<string, string> {
  const text = readFileSync(fromRoot('docs', 'architecture.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^\|\s*`((?:ibworker|ibproxy)_[a-z0-9_]+)`\s*\|\s*([a-z]+)/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Names prom-client's default collectors expose (histogram series included), read from prom-client itself. */
export async function defaultProcessMetrics(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
  }
  registry.clear();
  return names;
}

/** Series Prometheus itself writes for every target and for alerting. */
export const PROMETHEUS_SERIES = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

/** True when `name` is a documented metric or a series of a documented histogram. */
export function isDocumented(name: string, documented: Map<string, string>): boolean {
  if (documented.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && documented.get(m[1]!) === 'histogram';
}
