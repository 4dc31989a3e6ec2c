import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '@ibrest/proxy';
import { eventually, http } from './helpers/eventually.js';
import { grafanaToPromql, loadAlertRules, panelQueries } from './helpers/deploy-promql.js';
import { startPrometheus, which, type RunningPrometheus } from './helpers/deploy-tools.js';
import { startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const query = (c: Record<string, string>) => new URLSearchParams(c).toString();
/** TWS API message id of reqMktData. */
const REQ_MKT_DATA = 1;
// Windows wide enough to cover the whole run at a 1 s scrape interval.
const DURATIONS = { rateInterval: '30s', range: '5m', interval: '1s' };

/** Prometheus configuration for the running stack, with the job and worker labels compose's config gives. */
function scrapeConfig(stack: Stack): string {
  const proxy = new URL(stack.proxyUrl);
  const workers = stack.workers
    .map((w) => `      - targets: ['${new URL(w.url).host}']\n        labels: {worker: worker${w.clientId}}`)
    .join('\n');
  return `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: ibproxy
    scheme: ${proxy.protocol.replace(':', '')}
    tls_config: {insecure_skip_verify: true}
    authorization: {type: Bearer, credentials_file: metrics-key}
    static_configs:
      - targets: ['${proxy.host}']
  - job_name: ibworker
    static_configs:
${workers}
`;
}

/**
 * The dashboards against real data: Prometheus scrapes a running stack (simulator, eight worker processes,
 * the proxy with API keys as in compose) while the test drives the traffic the panels show, then every
 * panel query must return at least one series.
 */
describe('dashboards on a scraped stack', () => {
  let stack: Stack | undefined;
  let prom: RunningPrometheus | undefined;
  const trader = `ibr_${randomBytes(16).toString('hex')}`;
  const metricsKey = `ibr_${randomBytes(16).toString('hex')}`;
  const auth = { authorization: `Bearer ${trader}` };

  before(async () => {
    if (which('prometheus') === undefined) return;
    stack = await startStack({
      proxyEnv: {
        API_KEYS: `trader:read+trade:${hashApiKey(trader)},prometheus:read:${hashApiKey(metricsKey)}`,
        // The daily-restart window would answer 503 when the suite happens to run at that hour.
        IB_MAINTENANCE_WINDOWS: 'none',
      },
      // One market-data line per worker makes a second concurrent snapshot a 429 the worker counts.
      workerEnv: { IB_MARKET_DATA_LINES: '1' },
    });
    prom = await startPrometheus(scrapeConfig(stack), { 'metrics-key': metricsKey });
  });

  after(async () => {
    await prom?.stop();
    await stack?.stop();
  });

  it('returns data for every panel query once the stack has served traffic', async (t) => {
    if (stack === undefined || prom === undefined) return t.skip('prometheus is not installed (apt-get install prometheus)');
    const { proxyUrl, sim } = stack;

    // Reads over the pool, and one refused for lack of a key.
    for (let i = 0; i < 20; i++) assert.equal((await http(`${proxyUrl}/account/positions`, { headers: auth })).status, 200);
    assert.equal((await http(`${proxyUrl}/account/positions`)).status, 401);

    // An order that fills, and one IB rejects.
    const order = { contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 } };
    const placed = await http(`${proxyUrl}/order?wait=filled`, { method: 'POST', body: JSON.stringify(order), headers: auth });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    sim.control.rejectNext();
    const rejected = await http(`${proxyUrl}/order`, { method: 'POST', body: JSON.stringify(order), headers: auth });
    assert.equal(rejected.status, 422, JSON.stringify(rejected.body));

    // Historical bars, then the identical request again within 15 s: the proxy's pool-wide pacing says 429.
    const hist = `${proxyUrl}/historical?${query({ ...AAPL, durationStr: '1 D', barSizeSetting: '1 hour' })}`;
    assert.equal((await http(hist, { headers: auth })).status, 200);
    assert.equal((await http(hist, { headers: auth })).status, 429);

    // Slow replies keep snapshots in flight: identical ones on one worker share a request (coalesced),
    // a different one finds the worker's single market-data line taken (429 in the worker).
    const worker = stack.workers[1]!.url;
    sim.control.delayReplies(1_500);
    try {
      const sent = () => sim.control.received({ clientId: 1, msgId: REQ_MKT_DATA }).length;
      const before = sent();
      const aapl = Array.from({ length: 4 }, () => http(`${worker}/market/data?${query(AAPL)}`));
      await eventually(() => assert.ok(sent() > before, 'no snapshot request reached the simulator yet'), 5_000, 20);
      const msft = await http(`${worker}/market/data?${query({ ...AAPL, symbol: 'MSFT' })}`);
      assert.equal(msft.status, 429, JSON.stringify(msft.body));
      assert.deepEqual((await Promise.all(aapl)).map((s) => s.status), [200, 200, 200, 200]);
    } finally {
      sim.control.delayReplies(0);
    }
    await http(`${proxyUrl}/contract?${query(AAPL)}`, { headers: auth });

    const queries = panelQueries().map((q) => ({ where: `${q.dashboard} / ${q.panel} ${q.refId}`, expr: grafanaToPromql(q.expr, DURATIONS) }));
    const empty = async () => {
      const missing: string[] = [];
      for (const q of queries) {
        const res = await prom!.query(q.expr);
        assert.equal(res.status, 'success', `${q.where}: ${res.error}`);
        if ((res.data?.result ?? []).length === 0) missing.push(`${q.where}: ${q.expr}`);
      }
      return missing;
    };
    // Counters that moved once need two scrapes before rate()/increase() see them.
    const deadline = Date.now() + 30_000;
    let missing = await empty();
    while (missing.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      missing = await empty();
    }
    assert.deepEqual(missing, [], 'panel queries without data');
  });

  it('evaluates every alert expression on the live data without error, and none fires on a healthy stack', async (t) => {
    if (stack === undefined || prom === undefined) return t.skip('prometheus is not installed (apt-get install prometheus)');
    const firing: string[] = [];
    for (const rule of loadAlertRules()) {
      const res = await prom.query(rule.expr);
      assert.equal(res.status, 'success', `${rule.alert}: ${res.error}`);
      if ((res.data?.result ?? []).length > 0) firing.push(`${rule.alert}: ${JSON.stringify(res.data?.result)}`);
    }
    assert.deepEqual(firing, []);
  });
});
