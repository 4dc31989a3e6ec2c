import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually, request, startStack, type Stack } from './helpers.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

describe('metrics', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(3);
    await request(stack.url + '/account/positions');
    await request(stack.url + '/order', { method: 'POST', body: '{}' });
    const aborted = http.get(stack.url + '/contract?stub=slow&ms=5000', { agent: false });
    aborted.on('error', () => undefined);
    const slow = (q: { url: string }): boolean => q.url.startsWith('/contract?stub=slow');
    const arrived = (): boolean => stack.stubs.some((s) => s.requests.some(slow));
    await eventually(arrived, 2000, 'slow request reached a worker');
    aborted.destroy();
    await eventually(() => stack.proxy.pool.all().every((w) => w.inFlight === 0), 2000, 'in-flight 0');
  });
  after(() => stack.close());

  it('exposes every ibproxy_* metric with its labels, plus process metrics', async () => {
    const r = await request(stack.url + '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    const expectations: Array<[string, string]> = [
      ['ibproxy_build_info', 'ibproxy_build_info{version="'],
      ['ibproxy_requests_total', 'ibproxy_requests_total{backend="worker0",method="POST",code="200"} 1'],
      [
        'ibproxy_request_duration_seconds',
        'ibproxy_request_duration_seconds_bucket{le="60",backend="worker0",method="POST"} 1',
      ],
      ['ibproxy_requests_in_flight', 'ibproxy_requests_in_flight{backend="worker1"} 0'],
      ['ibproxy_upstream_errors_total', '# TYPE ibproxy_upstream_errors_total counter'],
      ['ibproxy_backend_up', 'ibproxy_backend_up{backend="worker2"} 1'],
      ['ibproxy_health_checks_total', 'ibproxy_health_checks_total{backend="worker0",result="up"}'],
      ['ibproxy_retries_total', '# TYPE ibproxy_retries_total counter'],
      ['ibproxy_auth_failures_total', '# TYPE ibproxy_auth_failures_total counter'],
      ['ibproxy_pacing_rejections_total', '# TYPE ibproxy_pacing_rejections_total counter'],
      ['ibproxy_market_data_lines_in_use', 'ibproxy_market_data_lines_in_use 0'],
      ['ibproxy_market_data_lines_budget', 'ibproxy_market_data_lines_budget 100'],
      ['ibproxy_depth_books_in_use', 'ibproxy_depth_books_in_use 0'],
      ['ibproxy_depth_books_budget', 'ibproxy_depth_books_budget 3'],
      ['ibproxy_budget_rejections_total', '# TYPE ibproxy_budget_rejections_total counter'],
      ['ibproxy_maintenance_window', 'ibproxy_maintenance_window 0'],
      ['ibproxy_maintenance_rejections_total', 'ibproxy_maintenance_rejections_total 0'],
      ['ibproxy_passive_health_down_total', '# TYPE ibproxy_passive_health_down_total counter'],
      ['process metrics', 'process_resident_memory_bytes'],
    ];
    for (const [name, needle] of expectations) assert.ok(r.text.includes(needle), `${name}: missing ${needle}`);
    assert.match(
      r.text,
      /ibproxy_requests_total\{backend="worker[12]",method="GET",code="499"\} 1/,
      'the aborted request is counted as 499',
    );
    for (const line of r.text.split('\n').filter((l) => l.startsWith('ibproxy_requests_in_flight{')))
      assert.match(line, / 0$/);
  });

  it(
    'the app registry passes promtool check metrics',
    { skip: PROMTOOL === undefined ? 'promtool is not installed (Debian package "prometheus")' : false },
    async () => {
      const text = await stack.proxy.metrics.registries.app.metrics();
      const out = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stdout + out.stderr);
    },
  );
});
