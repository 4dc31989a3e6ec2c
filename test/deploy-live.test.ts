import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '@ibrest/proxy';
import { eventually, http } from './helpers/eventually.js';
import { grafanaToPromql, loadAlertRules, panelQueries, RULES_DIR } from './helpers/deploy-promql.js';
import { startPrometheus, which, type RunningPrometheus } from './helpers/deploy-tools.js';
import { openSse } from './helpers/sse.js';
import { metricsText, openStream, sampleSum, stalledReader, waitForSample } from './helpers/deploy-traffic.js';
import { startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const query = (c: Record<string, string>) => new URLSearchParams(c).toString();
/** TWS API message id of reqMktData. */
const REQ_MKT_DATA = 1;
// Windows wide enough to cover the whole run at a 1 s scrape interval.
const DURATIONS = { rateInterval: '30s', range: '5m', interval: '1s' };
/** Spare clientId of every worker; only the worker whose clientId the simulator holds moves to it. */
const SPARE_CLIENT_ID = 20;
/** The worker pushed onto its spare clientId, and the one killed under traffic. */
const FALLBACK_WORKER = 3;
const KILLED_WORKER = 7;

/**
 * Alerts the faults below must make fire (rules without `for`); every other alert must stay quiet. Rules
 * with `for` can at most be pending in a run this short; promtool's unit tests cover them.
 */
const EXPECTED_FIRING = [
  'IbBudgetRejections', // the second stream over MARKET_DATA_LINES=1
  'IbClientIdFallback', // worker 3 moved to its spare
  'IbClientIdInUse', // the 326 that made it move
  'IbFillsReconciled', // the fill during the gateway restart
  'IbIdempotencyConflicts', // one key, two bodies
].sort();

/** Stat panels that must count the events this test drives (more than 0 in the range). */
const NONZERO_STATS = [
  'Idempotent replays in range',
  'Idempotency conflicts in range',
  'Reconciled events in range',
  'Policy refusals in range',
  'Workers on a spare clientId',
  'Passive take-downs in range',
  'Budget refusals in range',
  'Dropped events in range',
];

/** Prometheus configuration for the running stack, with the job and worker labels compose's config gives. */
function scrapeConfig(stack: Stack): string {
  const proxy = new URL(stack.proxyUrl);
  const workers = stack.workers
    .map((w) => `      - targets: ['${new URL(w.url).host}']\n        labels: {worker: worker${w.clientId}}`)
    .join('\n');
  return `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - ${RULES_DIR}/*.yml
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
 * the proxy with API keys as in compose) while the test drives the traffic and the faults the panels show,
 * then every panel query must return at least one series, and exactly the alerts those faults call for fire.
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
        // One pool-wide line: a second market-data stream is refused by the proxy's budget.
        MARKET_DATA_LINES: '1',
        // A request the pool-wide historical rules would hold longer than this is refused (429) instead.
        HISTORICAL_MAX_WAIT_MS: '500',
      },
      workerEnv: {
        // One market-data line per worker makes a second concurrent snapshot a 429 the worker counts.
        IB_MARKET_DATA_LINES: '1',
        ORDER_POLICY: JSON.stringify({ default: { maxQuantity: 100 } }),
        IB_SPARE_CLIENT_IDS: String(SPARE_CLIENT_ID),
        IB_CLIENT_ID_FALLBACK_AFTER: '1',
        // Few, spaced reconnect attempts: holding clientId 0 for seconds must not look like a reconnect storm.
        IB_RECONNECT_MIN_MS: '1000',
        IB_RECONNECT_MAX_MS: '2000',
        // A small per-caller buffer: the stalled reader below starts losing events soon.
        FEED_BUFFER_EVENTS: '4',
      },
    });
    prom = await startPrometheus(scrapeConfig(stack), { 'metrics-key': metricsKey });
    // Prometheus adds targets a few seconds after start. Counters must be seen before the traffic moves
    // them, as on a long-running Prometheus, or increase() has nothing to compare with.
    const targets = stack.workers.length + 1;
    await eventually(
      async () => {
        const res = await prom!.query(
          `count(count_over_time(up[1m]) >= 2) == ${targets} and count(up == 1) == ${targets}`,
        );
        assert.equal((res.data?.result ?? []).length, 1, 'not every target scraped twice yet');
      },
      30_000,
      200,
    );
  });

  after(async () => {
    await prom?.stop();
    await stack?.stop();
  });

  it('returns data for every panel query once the stack has served traffic', async (t) => {
    if (stack === undefined || prom === undefined)
      return t.skip('prometheus is not installed (apt-get install prometheus)');
    const { proxyUrl, sim } = stack;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      http(`${proxyUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { ...auth, ...headers } });

    // Reads over the pool, and one refused for lack of a key.
    for (let i = 0; i < 20; i++)
      assert.equal((await http(`${proxyUrl}/account/positions`, { headers: auth })).status, 200);
    assert.equal((await http(`${proxyUrl}/account/positions`)).status, 401);

    // An order that fills, and one IB rejects.
    const order = { contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 } };
    const placed = await post('/order?wait=filled', order);
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    sim.control.rejectNext();
    const rejected = await post('/order', order);
    assert.equal(rejected.status, 422, JSON.stringify(rejected.body));

    // Idempotency-Key: a retry is answered from the store, the same key with another body is refused.
    const key = randomUUID();
    const first = await post('/order', order, { 'idempotency-key': key });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const retry = await post('/order', order, { 'idempotency-key': key });
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.body.orderId, first.body.orderId, 'the retry answers the original order');
    const reused = await post(
      '/order',
      { ...order, order: { ...order.order, totalQuantity: 2 } },
      { 'idempotency-key': key },
    );
    assert.equal(reused.status, 409, JSON.stringify(reused.body));
    assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');

    // The safety policy (maxQuantity 100) refuses before IB.
    const tooBig = await post('/order', { ...order, order: { ...order.order, totalQuantity: 1_000 } });
    assert.equal(tooBig.status, 403, JSON.stringify(tooBig.body));
    assert.equal(tooBig.body.error.code, 'POLICY_QUANTITY_LIMIT');

    // 30-s bars (the size IB paces), then the identical request again within 15 s: pinned to the worker that
    // holds the answer and served from its cache, never sent to IB twice.
    const hist = `${proxyUrl}/historical?${query({ ...AAPL, durationStr: '1800 S', barSizeSetting: '30 secs' })}`;
    const firstBars = await http(hist, { headers: auth });
    assert.equal(firstBars.status, 200);
    const again = await http(hist, { headers: auth });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, firstBars.body);
    // Six distinct 30-s requests for one contract within 2 s: IB's sixth would be a violation, so the proxy
    // cannot be served within HISTORICAL_MAX_WAIT_MS: the proxy answers it 429 HISTORICAL_PACING (the pacing panel's
    // series) before it reaches any worker.
    const durations = ['600 S', '900 S', '1200 S', '1500 S', '2100 S', '2400 S'];
    const paced = (
      await Promise.all(
        durations.map((durationStr) =>
          http(`${proxyUrl}/historical?${query({ ...AAPL, symbol: 'MSFT', durationStr, barSizeSetting: '30 secs' })}`, {
            headers: auth,
          }),
        ),
      )
    ).map((r) => r.status);
    assert.ok(paced.includes(429), `no pacing refusal among ${paced.join(', ')}`);

    // The account push streams (the feeds dashboard's account-stream panels): positions and account values.
    for (const path of ['/account/positions', '/account/updates']) {
      const stream = await openSse(`${proxyUrl}${path}?format=sse`, auth);
      assert.equal(stream.status, 200);
      await stream.next((e) => e.event !== 'status');
      stream.close();
    }

    // Slow replies keep snapshots in flight: identical ones on one worker share a request (coalesced),
    // a different one finds the worker's single market-data line taken (429 in the worker).
    const worker = stack.workers[1]!.url;
    const direct = { headers: stack.workerHeaders };
    sim.control.delayReplies(1_500);
    try {
      const sent = () => sim.control.received({ clientId: 1, msgId: REQ_MKT_DATA }).length;
      const before = sent();
      const aapl = Array.from({ length: 4 }, () => http(`${worker}/market/data?${query(AAPL)}`, direct));
      await eventually(() => assert.ok(sent() > before, 'no snapshot request reached the simulator yet'), 5_000, 20);
      const msft = await http(`${worker}/market/data?${query({ ...AAPL, symbol: 'MSFT' })}`, direct);
      assert.equal(msft.status, 429, JSON.stringify(msft.body));
      assert.deepEqual(
        (await Promise.all(aapl)).map((s) => s.status),
        [200, 200, 200, 200],
      );
    } finally {
      sim.control.delayReplies(0);
    }
    await http(`${proxyUrl}/contract?${query(AAPL)}`, { headers: auth });

    // Gateway restart with a fill during the outage (worker 0 recovers it by reconciliation), while the
    // simulator holds clientId 3, so worker 3 is refused with 326 and moves to its spare clientId, and
    // clientId 0 for a few seconds, which has no spare: worker 0 reports it stuck and the alert engages.
    const resting = await post('/order', {
      contract: AAPL,
      order: { action: 'BUY', orderType: 'LMT', lmtPrice: 1, totalQuantity: 1 },
    });
    assert.equal(resting.status, 201, JSON.stringify(resting.body));
    sim.control.holdClientId(FALLBACK_WORKER, 6_000);
    sim.control.holdClientId(0, 4_500);
    const restarted = sim.control.restart({ downMs: 300 });
    await eventually(() => assert.equal(sim.control.connections().length, 0), 5_000, 10);
    assert.ok(
      sim.control.fillOrder({ permId: resting.body.permId }),
      'the simulator filled the resting order during the outage',
    );
    await restarted;
    // `for: 1m` keeps it pending in a run this short; pending proves the expression matched the live data.
    await eventually(
      async () => {
        const res = await prom!.query(
          'max_over_time(ALERTS{alertname="IbOrderClientIdStuck", alertstate="pending", worker="worker0"}[1m])',
        );
        assert.equal((res.data?.result ?? []).length, 1, 'IbOrderClientIdStuck never became pending');
      },
      10_000,
      200,
    );
    await eventually(
      async () => {
        const h = await http(`${stack!.workers[FALLBACK_WORKER]!.url}/health/ready`);
        assert.equal(h.status, 200, JSON.stringify(h.body));
        assert.equal(h.body.clientId, SPARE_CLIENT_ID, JSON.stringify(h.body));
      },
      15_000,
      100,
    );
    await waitForSample(stack.workers[0]!.url, 'ibworker_reconciled_events_total', 'type="fill"', 0, 15_000);

    // A worker killed under traffic: the proxy's passive health takes it out on the refused connection and
    // retries elsewhere. The active probe may see it first (then nothing is counted): kill it again.
    const proxyMetrics = { authorization: `Bearer ${metricsKey}` };
    const victim = stack.workers[KILLED_WORKER]!;
    const passiveDowns = async () =>
      sampleSum(
        await metricsText(proxyUrl, proxyMetrics),
        'ibproxy_passive_health_down_total',
        `backend="worker${KILLED_WORKER}"`,
      );
    for (let attempt = 0; attempt < 3 && (await passiveDowns()) === 0; attempt++) {
      await poolUp(stack, auth);
      await victim.kill();
      const reads = await Promise.all(
        Array.from({ length: 24 }, () => http(`${proxyUrl}/account/positions`, { headers: auth })),
      );
      assert.deepEqual(
        reads.filter((r) => r.status !== 200).map((r) => r.status),
        [],
        'reads were retried on live workers',
      );
      await victim.restart();
    }
    assert.ok((await passiveDowns()) > 0, 'the proxy took the killed worker out by passive health');
    await poolUp(stack, auth);

    // Feeds through the proxy: a market-data stream holds the single pool-wide line, so a second one is
    // refused by the budget; a depth stream holds a book.
    const feed = (path: string, params: Record<string, string>) => `${proxyUrl}${path}?${query(params)}`;
    const quotes = await openStream(feed('/market/data', AAPL), auth);
    assert.equal(quotes.status, 200);
    const depth = await openStream(feed('/market/depth', { ...AAPL, numRows: '5' }), auth);
    try {
      assert.equal(depth.status, 200);
      const over = await http(feed('/market/data', { ...AAPL, symbol: 'MSFT' }), {
        headers: { ...auth, accept: 'text/event-stream' },
      });
      assert.equal(over.status, 429, JSON.stringify(over.body));
      assert.equal(over.body.error.code, 'MARKET_DATA_LINES_EXHAUSTED');
      // Gauges of open streams are scraped while the streams are open.
      await eventually(
        async () => {
          const res = await prom!.query(
            'sum(ibworker_feed_subscribers) >= 2 and max(ibproxy_market_data_lines_in_use) >= 1' +
              ' and max(ibproxy_depth_books_in_use) >= 1',
          );
          assert.equal((res.data?.result ?? []).length, 1, 'open streams not scraped yet');
        },
        10_000,
        200,
      );
    } finally {
      quotes.close();
      depth.close();
    }

    // A caller that reads nothing while large news bulletins arrive: its buffer of FEED_BUFFER_EVENTS
    // overflows once the socket buffers are full, and the worker counts what it drops.
    const newsWorker = stack.workers[2]!.url;
    const stalled = await stalledReader(newsWorker, '/news', direct.headers);
    try {
      await eventually(() => assert.equal(sim.control.activeSubscriptions().newsBulletins, 1), 5_000, 20);
      const bulletin = 'x'.repeat(64 * 1024);
      let dropped = 0;
      for (let i = 0; i < 400 && dropped === 0; i++) {
        sim.control.pushNewsBulletin({ message: `${i} ${bulletin}` });
        if (i % 20 === 19)
          dropped = sampleSum(await metricsText(newsWorker), 'ibworker_feed_dropped_events_total', 'kind="news"');
      }
      await waitForSample(newsWorker, 'ibworker_feed_dropped_events_total', 'kind="news"', 0, 5_000);
    } finally {
      stalled.destroy();
    }

    const queries = panelQueries().map((q) => ({
      where: `${q.dashboard} / ${q.panel} ${q.refId}`,
      expr: grafanaToPromql(q.expr, DURATIONS),
    }));
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

    // The "in range" counters see the events driven above, including those whose series the event created.
    const counted = panelQueries()
      .filter((q) => NONZERO_STATS.includes(q.panel))
      .map((q) => ({ where: `${q.dashboard} / ${q.panel}`, expr: grafanaToPromql(q.expr, DURATIONS) }));
    assert.equal(counted.length, NONZERO_STATS.length, `stat panels found: ${counted.map((q) => q.where).join(', ')}`);
    await eventually(
      async () => {
        const zero: string[] = [];
        for (const q of counted) {
          const res = await prom!.query(q.expr);
          const value = Number((res.data?.result as Array<{ value: [number, string] }> | undefined)?.[0]?.value[1]);
          if (!(value > 0)) zero.push(`${q.where} = ${value}`);
        }
        assert.deepEqual(zero, [], 'stat panels that missed the events');
      },
      10_000,
      500,
    );
  });

  it('evaluates every alert expression on the live data; exactly the alerts the faults call for fire', async (t) => {
    if (stack === undefined || prom === undefined)
      return t.skip('prometheus is not installed (apt-get install prometheus)');
    for (const rule of loadAlertRules()) {
      const res = await prom.query(rule.expr);
      assert.equal(res.status, 'success', `${rule.alert}: ${res.error}`);
    }
    const firing = async () => {
      const res = await prom!.query('ALERTS{alertstate="firing"}');
      const series = (res.data?.result ?? []) as Array<{ metric: Record<string, string> }>;
      return [...new Set(series.map((s) => s.metric.alertname!))].sort();
    };
    // Prometheus evaluates the rules every second; give it a few rounds to see the last scrapes.
    const seen = await eventually(
      async () => {
        const names = await firing();
        assert.deepEqual(names, EXPECTED_FIRING);
        return names;
      },
      15_000,
      500,
    ).catch(async () => firing());
    assert.deepEqual(seen, EXPECTED_FIRING, 'firing alerts');
  });
});

/** Every worker ready, and up in the proxy's pool view. */
async function poolUp(stack: Stack, auth: Record<string, string>): Promise<void> {
  await eventually(
    async () => {
      for (const w of stack.workers)
        assert.equal((await http(`${w.url}/health/ready`)).status, 200, `worker${w.clientId} not ready`);
      const res = await http(`${stack.proxyUrl}/clients`, { headers: auth });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const down = (res.body.clients as Array<{ clientId: number; up: boolean }>)
        .filter((c) => !c.up)
        .map((c) => c.clientId);
      assert.deepEqual(down, [], "workers out of the proxy's rotation");
    },
    20_000,
    100,
  );
}
