import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ROUTES } from '@ibrest/contract';
import { eventually, http } from './helpers/eventually.js';
import { checked } from './helpers/openapi.js';
import { openSse } from './helpers/sse.js';
import { SIM_SESSION, startStack, type Stack } from './helpers/stack.js';

const REQ_HISTORICAL_DATA = 20;
const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };

/** The route manifest as a user meets it: through the proxy, in front of real workers and the simulator. */
describe('route contract – through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ sim: { seed: 11, tickIntervalMs: 0 } });
  });
  after(() => stack.stop());

  test("the proxy's OpenAPI document validates and carries the proxy's routes, scheme and error codes", async () => {
    const r = await http(`${stack.proxyUrl}/openapi.json`);
    assert.equal(r.status, 200);
    const doc = r.body;
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.ok(doc.paths['/clients'].get);
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      ...doc.components.securitySchemes.bearer,
      type: 'http',
      scheme: 'bearer',
    });
    assert.match(doc.paths['/order'].post.responses['401'].description, /UNAUTHORIZED/);
    assert.match(doc.paths['/order'].post.responses['503'].description, /ORDER_WORKER_UNAVAILABLE/);
    assert.ok(
      doc.paths['/order'].post.parameters.some(
        (p: { $ref?: string }) => p.$ref === '#/components/parameters/IdempotencyKey',
      ),
    );
    assert.ok(doc.paths['/order'].post.responses['201'].headers['Idempotent-Replayed']);
    assert.match(doc.paths['/historical'].get.responses['429'].description, /HISTORICAL_PACING/);
    // Every forwarded route of the manifest is in the document, and nothing else of the workers'.
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const expected = ROUTES.filter((e) => e.owner === 'proxy' || e.target !== 'local').map(
      (e) => `${e.method} ${e.path.replace(/:(\w+)/g, '{$1}')}`,
    );
    assert.deepEqual(documented.sort(), expected.sort());
    // The same document on every call: built by the proxy, not fetched from whichever worker.
    assert.deepEqual((await http(`${stack.proxyUrl}/openapi.json`)).body, doc);
  });

  test('unknown methods on known paths → 405 with Allow from the manifest', async () => {
    const r = await http(`${stack.proxyUrl}/order/1`, { method: 'PATCH', body: '{}' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
    assert.equal(r.body.error.code, 'METHOD_NOT_ALLOWED');
  });

  test('/executions lists the fill with its commission report (from the order worker, the master client)', async () => {
    const placed = await http(`${stack.proxyUrl}/order?wait=filled`, {
      method: 'POST',
      body: JSON.stringify({ contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 7 } }),
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const permId = placed.body.permId as number;
    const simExec = stack.sim.control.executions().find((e) => e.permId === permId);
    assert.ok(simExec, 'the simulator filled the order');
    const listed = await eventually(async () => {
      const r = await http(`${stack.proxyUrl}/executions?symbol=AAPL`);
      assert.equal(r.status, 200);
      const mine = (
        r.body.executions as Array<{
          execution: { permId: number; execId: string };
          commissionReport?: { commission: number };
        }>
      ).filter((e) => e.execution.permId === permId);
      assert.ok(mine.length > 0, 'the fill is listed');
      assert.ok(
        mine.every((e) => typeof e.commissionReport?.commission === 'number'),
        'with its commission',
      );
      return r;
    }, 10_000);
    assert.equal(listed.headers.get('x-ib-client-id'), '0');
  });

  test('identical historical requests within 15 s: one IB request, the rest from the cache', async () => {
    stack.sim.control.resetViolations();
    for (const bar of ['30%20secs', '1%20hour']) {
      const q = `${stack.proxyUrl}/historical?symbol=MSFT&durationStr=1800%20S&barSizeSetting=${bar}`;
      const before = stack.sim.control.received({ msgId: REQ_HISTORICAL_DATA }).length;
      const first = await Promise.all(Array.from({ length: 5 }, () => http(q)));
      const later = await Promise.all(Array.from({ length: 5 }, () => http(q)));
      for (const r of [...first, ...later]) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(later[4]!.body, first[0]!.body);
      assert.equal(
        new Set([...first, ...later].map((r) => r.headers.get('x-ib-client-id'))).size,
        1,
        'pinned to one worker',
      );
      assert.equal(
        stack.sim.control.received({ msgId: REQ_HISTORICAL_DATA }).length - before,
        1,
        `one IB request for ${bar}`,
      );
    }
    assert.equal(stack.sim.control.violations().byCode['162'] ?? 0, 0);
  });

  test("200 daily-bar requests served without a pacing refusal; 30-s bars keep IB's rules, zero 162", async () => {
    stack.sim.control.resetViolations();
    const symbols = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN'];
    const urls = Array.from(
      { length: 200 },
      (_, i) =>
        `${stack.proxyUrl}/historical?symbol=${symbols[i % symbols.length]}` +
        `&durationStr=${Math.floor(i / symbols.length) + 2}%20D&barSizeSetting=1%20day`,
    );
    const statuses: number[] = [];
    for (let i = 0; i < urls.length; i += 20) {
      const batch = await Promise.all(urls.slice(i, i + 20).map((u) => http(u)));
      statuses.push(...batch.map((r) => r.status));
    }
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every daily-bar request served',
    );
    // Seven distinct 30-s requests for one contract at once: IB allows five within 2 s; the rest wait or are refused.
    const small = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        http(
          `${stack.proxyUrl}/historical?symbol=IBM&durationStr=${(i + 1) * 300}%20S` +
            '&barSizeSetting=30%20secs&timeout=20',
        ),
      ),
    );
    for (const r of small) {
      assert.ok(
        r.status === 200 || (r.status === 429 && r.body.error.code === 'HISTORICAL_PACING'),
        `${r.status} ${JSON.stringify(r.body)}`,
      );
    }
    assert.ok(small.filter((r) => r.status === 200).length >= 5);
    assert.equal(stack.sim.control.violations().byCode['162'] ?? 0, 0, 'zero IB pacing violations');
  });

  test('a stream of 50 conIds holds 50 market-data lines pool-wide, as many as the worker subscribes', async () => {
    const conIds = [...new Set(stack.sim.sim.engine.catalogue.all.map((c) => c.conId))].slice(0, 50);
    assert.equal(conIds.length, 50, 'the simulator knows 50 contracts');
    const linesBefore = stack.sim.control.activeMarketDataLines();
    const sse = await openSse(`${stack.proxyUrl}/market/data?conIds=${conIds.join(',')}&format=sse`);
    try {
      const clients = await eventually(async () => {
        const r = await http(`${stack.proxyUrl}/clients`);
        assert.equal(r.body.budgets.marketDataLines.inUse, 50);
        return r;
      }, 10_000);
      assert.equal(clients.body.budgets.marketDataLines.streams, 1);
      await eventually(() => assert.equal(stack.sim.control.activeMarketDataLines() - linesBefore, 50), 10_000);
    } finally {
      await sse.close();
    }
    await eventually(
      async () => assert.equal((await http(`${stack.proxyUrl}/clients`)).body.budgets.marketDataLines.inUse, 0),
      10_000,
    );
  });

  test("50 keepUpToDate streams hold IB's 50 open historical requests: the 51st 429 at the proxy, no 322", async () => {
    // The limit is the subject here, not the session's noise: a farm flap or link blip while the 50 streams open
    // would answer some of them 503 (as it should). Quiet for this test; any flap under way ends within 1 s.
    stack.sim.control.setSession('clean');
    await eventually(async () => {
      const clients = (await http(`${stack.proxyUrl}/clients`)).body.clients as Array<{ capabilities: string[] }>;
      assert.ok(
        clients.every((c) => c.capabilities.includes('historical')),
        JSON.stringify(clients),
      );
    }, 10_000);
    stack.sim.control.resetViolations();
    const stream = (i: number) =>
      openSse(
        `${stack.proxyUrl}/historical?symbol=${i % 2 === 0 ? 'AAPL' : 'MSFT'}&durationStr=${i + 1}%20D` +
          '&barSizeSetting=1%20hour&keepUpToDate=true&format=sse',
      );
    const streams = await Promise.all(Array.from({ length: 50 }, (_, i) => stream(i)));
    try {
      assert.deepEqual(
        streams.map((s) => s.status),
        streams.map(() => 200),
      );
      await Promise.all(streams.map((s) => s.next((e) => e.event === 'loaded', 20_000)));
      assert.equal(stack.sim.control.activeSubscriptions().historicalUpdates, 50, 'fifty open at IB');
      const sent = stack.sim.control.received({ msgId: REQ_HISTORICAL_DATA }).length;
      const refused = await http(`${stack.proxyUrl}/historical/head-timestamp?symbol=IBM`);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'HISTORICAL_PACING');
      assert.equal(refused.body.error.details.rule, 'historical_open');
      assert.equal(stack.sim.control.received({ msgId: REQ_HISTORICAL_DATA }).length, sent, 'nothing reached IB');
      assert.deepEqual((await http(`${stack.proxyUrl}/clients`)).body.budgets.historicalOpen, { used: 50, limit: 50 });
      // One stream ends: the worker cancels it at IB, then its place serves the next request.
      streams.pop()!.close();
      const served = await eventually(async () => {
        const r = await http(`${stack.proxyUrl}/historical/head-timestamp?symbol=IBM`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r;
      }, 15_000);
      assert.match(served.body.headTimestamp, /^\d{4}-\d{2}-\d{2}T/, "IB's answer");
    } finally {
      for (const s of streams) s.close();
      stack.sim.control.setSession(SIM_SESSION);
    }
    await eventually(() => assert.equal(stack.sim.control.activeSubscriptions().historicalUpdates, 0), 10_000);
    assert.equal(stack.sim.control.violations().byCode['322'] ?? 0, 0, 'IB never refused an open request');
  });

  test('every answer of this suite was checked against the OpenAPI document', () => {
    assert.ok(checked.responses > 200 && checked.bodies > 200, JSON.stringify(checked));
  });
});
