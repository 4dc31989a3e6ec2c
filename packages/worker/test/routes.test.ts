import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { workerRoutes } from '@ibrest/contract';
import { renderWorkerOpenApi, WORKER_OPENAPI_FILE, workerOpenApiPaths } from '../src/openapi-export.js';
import { eventually, http, startStack, type Stack } from './helpers.js';
import { SseClient } from './sse-client.js';

describe('routes – every read route against the simulator', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('GET /account/updates, /account/summary (tags validated), /account/pnl', async () => {
    const u = await http(`${s.url}/account/updates`);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.equal(u.body.account, 'DU1234567');
    const usd = u.body.values.NetLiquidation.find((v: { currency: string }) => v.currency === 'USD');
    assert.equal(typeof usd.value, 'number');
    assert.equal(u.body.values.AccountType[0].value, 'INDIVIDUAL', 'text stays text');
    const aapl = u.body.portfolio.find((p: { contract: { symbol: string } }) => p.contract.symbol === 'AAPL');
    assert.equal(aapl?.position, 100);
    const joined = async () =>
      typeof (await http(`${s.url}/account/updates`)).body.portfolio[0]?.marketValue === 'number';
    await eventually(joined, 3000, 'position PnL joined');
    assert.equal((await http(`${s.url}/account/updates?account=NOPE`)).body.error.code, 'ACCOUNT_NOT_FOUND');
    const sum = await http(`${s.url}/account/summary?tags=NetLiquidation,TotalCashValue`);
    assert.equal(sum.status, 200, JSON.stringify(sum.body));
    assert.equal(typeof sum.body.accounts.DU1234567.NetLiquidation[0].value, 'number');
    assert.equal(sum.body.accounts.DU1234567.NetLiquidation[0].currency, 'USD');
    // The summary is a snapshot: the IB subscription it needed is cancelled (IB allows only two).
    const reqs = s.sim.control.received({ clientId: 3, msgId: 62 });
    const last = reqs.at(-1)!;
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: 63 }).some((m) => m.fields[1] === last.fields[1]),
      3000,
      'cancelAccountSummary with the same reqId',
    );
    const bad = await http(`${s.url}/account/summary?tags=NetLiquidation,Bogus`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_REQUEST');
    assert.match(JSON.stringify(bad.body.error.details), /Bogus/);
    const pnl = await http(`${s.url}/account/pnl`);
    assert.equal(pnl.status, 200, JSON.stringify(pnl.body));
    assert.equal(pnl.body.account, 'DU1234567');
    assert.equal(typeof pnl.body.dailyPnL, 'number');
  });

  it('malformed percent-encoding in a query value → 400 and nothing sent to IB', async () => {
    const before = s.sim.control.received({ clientId: 3 }).length;
    for (const url of [
      `${s.url}/contract?symbol=%E0%A4%A`,
      `${s.url}/market/data?symbol=%FF%FE`,
      `${s.url}/historical?symbol=AAPL&durationStr=%`,
    ]) {
      const res = await http(url);
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, 'INVALID_REQUEST');
      assert.match(JSON.stringify(res.body.error.details), /query\.(symbol|durationStr)/);
    }
    assert.equal(s.sim.control.received({ clientId: 3 }).length, before);
  });

  it('GET /contract, /contract/search, /contract/options (and 404 CONTRACT_NOT_FOUND)', async () => {
    const c = await http(`${s.url}/contract?conId=265598&exchange=SMART`);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal(c.body.contracts[0].contract.symbol, 'AAPL');
    const nf = await http(`${s.url}/contract?symbol=NOSUCH`);
    assert.equal(nf.status, 404, JSON.stringify(nf.body));
    assert.equal(nf.body.error.code, 'CONTRACT_NOT_FOUND');
    assert.equal(nf.body.error.ibCode, 200);
    const chain = await http(`${s.url}/contract?symbol=ES&secType=FUT&exchange=CME`);
    assert.equal(chain.status, 200, JSON.stringify(chain.body));
    type Listed = { contract: { lastTradeDateOrContractMonth: string; strike: number } };
    const expiries = chain.body.contracts.map((d: Listed) => d.contract.lastTradeDateOrContractMonth);
    assert.ok(expiries.length >= 4, `a future without expiry lists its chain: ${expiries}`);
    assert.deepEqual([...expiries].sort(), expiries, 'ordered by expiry');
    assert.equal(chain.body.total, expiries.length);
    const opts = await http(`${s.url}/contract/options?symbol=AAPL`);
    const expiry = opts.body.chains[0].expirations[0];
    const calls = `${s.url}/contract?symbol=AAPL&secType=OPT&lastTradeDateOrContractMonth=${expiry}&right=C`;
    const strikes = await http(`${calls}&limit=4`);
    assert.equal(strikes.status, 200, JSON.stringify(strikes.body));
    assert.equal(strikes.body.contracts.length, 4);
    const { total, nextOffset } = strikes.body;
    assert.ok(total > 4 && nextOffset === 4, JSON.stringify({ total, nextOffset }));
    const page2 = await http(`${calls}&limit=4&offset=4`);
    const all = [...strikes.body.contracts, ...page2.body.contracts].map((d: Listed) => d.contract.strike);
    assert.deepEqual(
      all,
      [...all].sort((a, b) => a - b),
      'the strikes of one expiry, in order across pages',
    );
    assert.equal(new Set(all).size, all.length, 'pages do not overlap');
    const search = await http(`${s.url}/contract/search?pattern=MS`);
    assert.equal(search.status, 200, JSON.stringify(search.body));
    assert.ok(search.body.contracts.some((x: { contract: { symbol: string } }) => x.contract.symbol === 'MSFT'));
    const opt = await http(`${s.url}/contract/options?symbol=AAPL`);
    assert.equal(opt.status, 200, JSON.stringify(opt.body));
    assert.equal(opt.body.underlying.conId, 265598);
    assert.ok(opt.body.chains.length > 0 && opt.body.chains[0].strikes.length > 0);
  });

  it('GET /historical, /historical/head-timestamp, /market/data', async () => {
    const h = await http(`${s.url}/historical?symbol=MSFT&durationStr=5%20D&barSizeSetting=1%20day`);
    assert.equal(h.status, 200, JSON.stringify(h.body));
    assert.ok(h.body.bars.length > 0);
    assert.ok(['time', 'open', 'high', 'low', 'close', 'volume'].every((k) => k in h.body.bars[0]));
    for (const bar of h.body.bars) {
      assert.match(bar.time, /^\d{4}-\d{2}-\d{2}$/, 'daily bars carry the trading date');
      const day = new Date(`${bar.time}T12:00:00Z`).getUTCDay();
      assert.ok(day !== 0 && day !== 6, `no daily bar on a weekend (${bar.time})`);
    }
    const intraday = await http(
      `${s.url}/historical?symbol=MSFT&durationStr=2%20D&barSizeSetting=30%20mins&formatDate=2`,
    );
    assert.equal(intraday.status, 200, JSON.stringify(intraday.body));
    for (const bar of intraday.body.bars) {
      assert.match(bar.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'intraday bars are ISO instants');
      const epoch = new Date(bar.time).getTime() / 1000;
      assert.equal(epoch, Number(bar.ibTime), 'formatDate=2 keeps IB epoch seconds beside');
      // useRTH (the default): 09:30–16:00 New York time only.
      const nyTime = { timeZone: 'America/New_York', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' } as const;
      const ny = new Intl.DateTimeFormat('en-US', nyTime).format(new Date(bar.time));
      assert.ok(ny >= '09:30' && ny < '16:00', `bar ${bar.time} (${ny} New York) inside regular hours`);
    }
    const head = await http(`${s.url}/historical/head-timestamp?symbol=MSFT`);
    assert.equal(head.status, 200, JSON.stringify(head.body));
    assert.match(head.body.headTimestamp, /Z$/);
    assert.ok(head.body.ibHeadTimestamp.length > 0);
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    const end = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}-23:59:59`;
    for (const what of ['TRADES', 'BID_ASK', 'MIDPOINT']) {
      const t = await http(
        `${s.url}/historical/ticks?symbol=AAPL&endDateTime=${end}&numberOfTicks=50&whatToShow=${what}`,
      );
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.ok(t.body.ticks.length >= 1 && t.body.ticks.length <= 50, `${what}: ${t.body.ticks.length} ticks`);
      const tick = t.body.ticks[0];
      assert.equal(new Date(tick.time).getTime() / 1000, tick.ibTime);
      if (what === 'TRADES') assert.equal(typeof tick.price, 'number');
      if (what === 'BID_ASK') assert.ok(tick.priceBid < tick.priceAsk, JSON.stringify(tick));
      if (what === 'MIDPOINT') assert.equal(typeof tick.price, 'number');
    }
    // keepUpToDate: the bars, `loaded`, then IB's updates of the forming bar, as a stream.
    const live = new SseClient(
      `${s.url}/historical?symbol=AAPL&durationStr=2%20D&barSizeSetting=1%20hour&keepUpToDate=true&format=sse`,
    );
    try {
      await live.opened;
      assert.equal(live.status, 200);
      await eventually(() => live.named('loaded').length === 1, 5000, 'history loaded');
      const history = live.named('bar').map((e) => e.data as { time: string; update: boolean });
      assert.ok(history.length > 0 && history.every((b) => !b.update && /Z$/.test(b.time)));
      s.sim.control.setPrice('AAPL', 191.37);
      const update = await eventually(() => {
        const u = live.named('bar').find((e) => (e.data as { update: boolean }).update);
        assert.ok(u);
        return u.data as { close: number };
      }, 5000);
      assert.equal(update.close, 191.37);
    } finally {
      live.close();
    }
    const notStreamed = await http(`${s.url}/historical?symbol=AAPL&keepUpToDate=true`);
    assert.equal(notStreamed.status, 400);
    assert.match(JSON.stringify(notStreamed.body.error.details), /query\.format/);
    const both = await http(`${s.url}/historical/ticks?symbol=AAPL&endDateTime=${end}&startDateTime=${end}`);
    assert.equal(both.status, 400);
    assert.match(JSON.stringify(both.body.error.details), /startDateTime|endDateTime/);
    const m = await http(`${s.url}/market/data?symbol=AAPL`);
    assert.equal(m.status, 200, JSON.stringify(m.body));
    assert.equal(typeof m.body.ticks.BID, 'number');
    assert.equal(typeof m.body.ticks.ASK, 'number');
    const bad = await http(`${s.url}/market/data?secType=STK`);
    assert.equal(bad.status, 400);
  });

  it('health, metrics (exact ibworker_* names), X-Request-Id echoed, 404 envelope', async () => {
    const live = await http(`${s.url}/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    assert.deepEqual(live.body, { status: 'ok' });
    assert.equal(live.headers.get('x-request-id'), 'abc-123');
    assert.match((await http(`${s.url}/health/live`)).headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const ready = await http(`${s.url}/health/ready`);
    assert.equal(ready.body.ib.socket, true);
    assert.equal(ready.body.farms.usfarm, 'ok');
    const m = await http(`${s.url}/metrics`);
    assert.equal(m.status, 200);
    for (const name of [
      'ibworker_info',
      'ibworker_ib_connection_state',
      'ibworker_ib_ready',
      'ibworker_ib_reconnects_total',
      'ibworker_ib_errors_total',
      'ibworker_ib_client_id_in_use_total',
      'ibworker_ib_farm_up',
      'ibworker_ib_request_duration_seconds',
      'ibworker_http_requests_total',
      'ibworker_http_request_duration_seconds',
      'ibworker_pacer_queue_depth',
      'ibworker_pacer_wait_seconds',
      'ibworker_pacer_messages_total',
      'ibworker_pacer_budget_messages_per_second',
      'ibworker_pacing_rejections_total',
      'ibworker_coalesced_requests_total',
      'ibworker_market_data_lines_in_use',
      'ibworker_orders_placed_total',
      'ibworker_order_status_total',
      'ibworker_order_rejects_total',
      'ibworker_fills_total',
      'ibworker_order_ack_seconds',
      'process_cpu_seconds_total',
    ]) {
      assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(m.body, /^ibworker_ib_ready 1$/m);
    assert.match(m.body, /^ibworker_ib_errors_total\{code="2104"\} \d+/m);
    const nf = await http(`${s.url}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 'ROUTE_NOT_FOUND');
  });

  it('GET /openapi.json validates as OpenAPI 3.1 and matches the express routes exactly', async () => {
    const doc = (await http(`${s.url}/openapi.json`)).body;
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths as Record<string, object>))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p}`);
    // What express actually serves, read from its router.
    const served = new Set<string>();
    const app = (await import('../src/app.js')).createApp;
    const probe = app({
      routes: s.worker.routes,
      clientId: 3,
      log: s.worker.log,
      metrics: s.worker.metrics,
      requestTimeoutMs: 1000,
      maxRequestTimeoutMs: 2000,
      bodyLimitBytes: 1024,
    }) as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } };
    for (const layer of probe.router.stack) {
      if (!layer.route) continue;
      for (const m of Object.keys(layer.route.methods))
        served.add(`${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
    }
    assert.deepEqual([...served].sort(), [...documented].sort());
    // The route manifest (@ibrest/contract) has exactly these routes: one entry per express route, by operationId.
    const manifest = workerRoutes()
      .map((r) => `${r.id} ${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    const table = s.worker.routes
      .map((r) => `${r.operationId} ${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    assert.deepEqual(table, manifest, 'the worker route table and the route manifest list the same routes');
    assert.deepEqual([...served].sort(), [...new Set(manifest.map((m) => m.split(' ').slice(1).join(' ')))].sort());
    for (const seed of [
      'GET /order',
      'POST /order',
      'DELETE /order',
      'PUT /order/{orderId}',
      'DELETE /order/{orderId}',
      'GET /account/summary',
      'GET /executions',
    ]) {
      assert.ok(documented.has(seed), seed);
    }
    assert.ok(doc.paths['/historical'].get.responses['429'].headers['Retry-After']);
    assert.ok(doc.paths['/order'].post.parameters.some((p: { name?: string }) => p.name === 'timeout'));
  });

  it("the proxy's copy of the workers' OpenAPI paths (@ibrest/contract) is what the worker generates", async () => {
    const fresh = renderWorkerOpenApi(await workerOpenApiPaths());
    const stale = 'stale: run `npm run openapi -w @ibrest/worker` after a build';
    assert.ok(readFileSync(WORKER_OPENAPI_FILE, 'utf8') === fresh, stale);
  });
});
