import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { interpolate, loadCompose } from './helpers/deploy-compose.js';
import {
  allPanels,
  defaultProcessMetrics,
  documentedMetrics,
  grafanaToPromql,
  isDocumented,
  loadAlertRules,
  loadDashboards,
  metricNames,
  panelQueries,
  PROMETHEUS_SERIES,
} from './helpers/deploy-promql.js';
import { fromRoot, run, startPrometheus, tempDir, which, type RunningPrometheus } from './helpers/deploy-tools.js';

const PROM_DIR = fromRoot('deploy', 'prometheus');
const DURATIONS = { rateInterval: '1m', range: '1h', interval: '15s' };

interface ScrapeConfig {
  job_name: string;
  scheme?: string;
  authorization?: { credentials_file?: string };
  static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
}

const promConfig = yaml.load(readFileSync(fromRoot('deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
  rule_files: string[];
  scrape_configs: ScrapeConfig[];
};

/** prometheus.yml with the container paths replaced by files that exist here. */
function localConfig(metricsKeyFile: string): string {
  return readFileSync(fromRoot('deploy', 'prometheus', 'prometheus.yml'), 'utf8')
    .replaceAll('/run/secrets/metrics_key', metricsKeyFile)
    .replaceAll('/etc/prometheus/rules/', `${PROM_DIR}/rules/`);
}

function requirePromtool(t: { skip(msg: string): void }): string | undefined {
  const promtool = which('promtool');
  if (promtool === undefined) t.skip('promtool is not installed (apt-get install prometheus)');
  return promtool;
}

describe('Prometheus configuration', () => {
  it('scrapes the proxy and all eight workers under the names compose gives them', () => {
    const compose = interpolate(loadCompose(), {});
    const proxy = promConfig.scrape_configs.find((c) => c.job_name === 'ibproxy');
    assert.deepEqual(
      proxy?.static_configs.flatMap((s) => s.targets),
      [`proxy:${compose.services.proxy!.environment!.PORT}`],
    );
    assert.equal(proxy?.authorization?.credentials_file, '/run/secrets/metrics_key');
    const prometheusSecrets = compose.services.prometheus!.secrets ?? [];
    assert.ok(prometheusSecrets.includes('metrics_key'), 'the prometheus service does not mount metrics_key');

    const workers = promConfig.scrape_configs.find((c) => c.job_name === 'ibworker')!;
    const seen = workers.static_configs.map((s) => ({ target: s.targets[0], worker: s.labels?.worker }));
    assert.equal(seen.length, 8);
    for (const { target, worker } of seen) {
      const service = compose.services[worker!];
      assert.ok(service, `label worker=${worker} is not a compose service`);
      assert.equal(target, `${worker}:${service.environment!.PORT}`);
    }
    const volumes = (compose.services.prometheus!.volumes ?? []) as string[];
    assert.ok(
      volumes.some(
        (v) =>
          v.startsWith('./deploy/prometheus/rules:') && v.includes(promConfig.rule_files[0]!.replace(/\/\*\.yml$/, '')),
      ),
    );
  });

  it('passes promtool check config (rule files included)', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const dir = tempDir('ibrest-promcfg-');
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${dir.path}/metrics-key`, 'test');
      writeFileSync(`${dir.path}/prometheus.yml`, localConfig(`${dir.path}/metrics-key`));
      const res = await run(promtool, ['check', 'config', `${dir.path}/prometheus.yml`]);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /SUCCESS: \d+ rules found/);
    } finally {
      dir.remove();
    }
  });

  it('passes promtool check rules', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const files = readdirSync(`${PROM_DIR}/rules`)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `rules/${f}`);
    const res = await run(promtool, ['check', 'rules', ...files], { cwd: PROM_DIR });
    assert.equal(res.code, 0, res.stdout + res.stderr);
  });

  it('passes promtool test rules, with a test for every alert', async (t) => {
    const promtool = requirePromtool(t);
    if (!promtool) return;
    const tests = readdirSync(`${PROM_DIR}/tests`)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `tests/${f}`);
    const res = await run(promtool, ['test', 'rules', ...tests], { cwd: PROM_DIR });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const tested = new Set(
      tests.flatMap((f) =>
        [...readFileSync(`${PROM_DIR}/${f}`, 'utf8').matchAll(/alertname:\s*(\w+)/g)].map((m) => m[1]),
      ),
    );
    for (const rule of loadAlertRules()) assert.ok(tested.has(rule.alert), `alert ${rule.alert} has no promtool test`);
  });

  it('explains every metric in docs/operations.md', () => {
    const ops = readFileSync(fromRoot('docs', 'operations.md'), 'utf8');
    const missing = [...documentedMetrics().keys()].filter((name) => !ops.includes('`' + name));
    assert.deepEqual(missing, [], 'metrics docs/operations.md does not explain');
  });

  it('labels every alert with a severity and links a runbook section that exists', () => {
    const ops = readFileSync(fromRoot('docs', 'operations.md'), 'utf8');
    const anchors = new Set(
      [...ops.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const names = new Set<string>();
    for (const rule of loadAlertRules()) {
      assert.ok(!names.has(rule.alert), `duplicate alert ${rule.alert}`);
      names.add(rule.alert);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${rule.alert} severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert} has no summary`);
      const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations?.runbook ?? '')?.[1];
      assert.ok(anchor, `${rule.alert} runbook ${rule.annotations?.runbook}`);
      assert.ok(anchors.has(anchor), `${rule.alert}: docs/operations.md has no heading for #${anchor}`);
    }
  });
});

describe('Grafana provisioning and dashboards', () => {
  const dashboards = loadDashboards();

  it('provisions the Prometheus datasource the panels refer to and loads the dashboards from their mount', () => {
    const ds = yaml.load(
      readFileSync(fromRoot('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'),
    ) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    assert.deepEqual(
      ds.datasources.map((d) => [d.uid, d.type, d.url]),
      [['prometheus', 'prometheus', 'http://prometheus:9090']],
    );
    const provider = yaml.load(
      readFileSync(fromRoot('deploy', 'grafana', 'provisioning', 'dashboards', 'ibrest.yml'), 'utf8'),
    ) as {
      providers: Array<{ options: { path: string } }>;
    };
    const grafana = interpolate(loadCompose(), {}).services.grafana!;
    const mounts = (grafana.volumes ?? []) as string[];
    assert.ok(
      mounts.includes(`./deploy/grafana/dashboards:${provider.providers[0]!.options.path}:ro`),
      `dashboards not mounted at the provider path: ${mounts}`,
    );
    assert.ok(mounts.includes('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro'));
  });

  it('has the pool overview, IB connections, pacing, orders and feeds dashboards with the required panels', () => {
    const byUid = new Map(dashboards.map((d) => [d.uid, d]));
    const need: Record<string, RegExp[]> = {
      'ibrest-pool': [
        /requests\/s by worker/i,
        /5xx/i,
        /p50 \/ p99 by worker/i,
        /in flight by worker/i,
        /worker ready/i,
      ],
      'ibrest-ib': [
        /connection state by clientid/i,
        /reconnects/i,
        /ib errors .*by code/i,
        /farm status/i,
        /clientid lease in use vs configured/i,
        /clientid fallbacks/i,
        /maintenance window state/i,
        /passive health/i,
      ],
      'ibrest-pacing': [/budget use/i, /queue depth/i, /429/i, /coalesced/i],
      'ibrest-orders': [
        /placed/i,
        /fill/i,
        /reject/i,
        /latency/i,
        /idempotent replays/i,
        /idempotency conflicts/i,
        /journal events by type/i,
        /reconciled events by type/i,
        /policy decisions by decision and code/i,
      ],
      'ibrest-feeds': [
        /callers by kind/i,
        /ib subscriptions by kind/i,
        /events\/s by kind/i,
        /dropped events/i,
        /market-data lines: pool in use vs budget/i,
        /market-data lines by worker/i,
        /depth books/i,
        /budget refusals by kind/i,
      ],
    };
    for (const [uid, titles] of Object.entries(need)) {
      const d = byUid.get(uid);
      assert.ok(d, `dashboard ${uid} missing`);
      const panelTitles = allPanels(d).map((p) => p.title ?? '');
      for (const t of titles)
        assert.ok(
          panelTitles.some((p) => t.test(p)),
          `${d.title}: no panel matching ${t}`,
        );
    }
  });

  it('has well-formed panels: unique ids, grid positions, the provisioned datasource, a query each', () => {
    assert.equal(new Set(dashboards.map((d) => d.uid)).size, dashboards.length, 'duplicate dashboard uid');
    for (const d of dashboards) {
      assert.ok(d.title && d.uid, d.file);
      const panels = allPanels(d);
      assert.equal(
        new Set(panels.map((p) => (p as { id: number }).id)).size,
        panels.length,
        `${d.title}: duplicate panel id`,
      );
      for (const p of panels) {
        const panel = p as {
          gridPos?: { w: number; h: number; x: number };
          type?: string;
          datasource?: { uid: string };
        };
        assert.ok(panel.gridPos && panel.gridPos.x + panel.gridPos.w <= 24, `${d.title} / ${p.title}: gridPos`);
        if (p.type === 'row') continue;
        assert.equal(panel.datasource?.uid, 'prometheus', `${d.title} / ${p.title}: datasource`);
        assert.ok((p.targets ?? []).length > 0, `${d.title} / ${p.title}: no query`);
      }
    }
    for (const q of panelQueries(dashboards)) {
      const expr = grafanaToPromql(q.expr, DURATIONS);
      assert.ok(expr.trim() !== '', `${q.dashboard} / ${q.panel} ${q.refId}: empty query`);
      assert.ok(!expr.includes('$'), `${q.dashboard} / ${q.panel}: unresolved variable in ${q.expr}`);
    }
  });
});

describe('metric names in dashboards and alert rules', () => {
  it('uses only names from docs/architecture.md, prom-client defaults and Prometheus itself', async () => {
    const documented = documentedMetrics();
    assert.ok(documented.size >= 30, `only ${documented.size} metrics parsed from docs/architecture.md`);
    const defaults = await defaultProcessMetrics();
    const exprs = [
      ...panelQueries().map((q) => ({
        where: `${q.dashboard} / ${q.panel}`,
        expr: grafanaToPromql(q.expr, DURATIONS),
      })),
      ...loadAlertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ];
    const used = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const name of names) {
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
        assert.ok(
          isDocumented(name, documented) || defaults.has(name) || PROMETHEUS_SERIES.has(name),
          `${where}: ${name} is not a documented metric`,
        );
      }
    }
    // Every metric the services export is on a dashboard or in an alert (ibworker_info as the clientId join).
    assert.deepEqual(
      [...documented.keys()].filter((name) => !used.has(name)),
      [],
      'metrics on no dashboard and in no alert',
    );
  });

  it('extracts names from selectors, not from functions, labels, durations or keywords', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, backend) ' +
          '(rate(a_seconds_bucket{code=~"5..", x="rate(y)"}[5m] offset 1h)))',
      ),
      ['a_seconds_bucket'],
    );
    assert.deepEqual(
      metricNames('max by (client_id) (s * on (instance) group_left (client_id) info) or vector(0) > 1e3').sort(),
      ['info', 's'],
    );
    assert.deepEqual(metricNames('sum(a) / ignoring(code) sum without (x) (b) and c unless d'), ['a', 'b', 'c', 'd']);
  });
});

describe('every query against a real Prometheus', () => {
  let prom: RunningPrometheus | undefined;
  let why = '';

  before(async () => {
    if (which('prometheus') === undefined) {
      why = 'prometheus is not installed (apt-get install prometheus)';
      return;
    }
    // No targets: this checks that every expression parses and evaluates. Data is the live test's job.
    prom = await startPrometheus('global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  });
  after(async () => {
    await prom?.stop();
  });

  it('accepts every dashboard query and every alert expression', async (t) => {
    if (prom === undefined) return t.skip(why);
    const exprs = [
      ...panelQueries().map((q) => ({
        where: `${q.dashboard} / ${q.panel} ${q.refId}`,
        expr: grafanaToPromql(q.expr, DURATIONS),
      })),
      ...loadAlertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ];
    const failures: string[] = [];
    for (const { where, expr } of exprs) {
      const res = await prom.query(expr);
      if (res.status !== 'success') failures.push(`${where}: ${res.errorType}: ${res.error}\n    ${expr}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(exprs.length > 60, `only ${exprs.length} expressions checked`);
  });

  it('reports a syntax error as bad_data (the check above can fail)', async (t) => {
    if (prom === undefined) return t.skip(why);
    const res = await prom.query('sum(rate(ibproxy_requests_total[5m])');
    assert.equal(res.status, 'error');
    assert.equal(res.errorType, 'bad_data');
  });
});
