import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@ibrest/common';
import { loadConfig } from '../src/config.js';
import { Coalescer } from '../src/ib/coalescer.js';
import { OrderIds } from '../src/ib/order-ids.js';
import { Pacer } from '../src/ib/pacer.js';
import { classifyIbCode, ibErrorToApiError } from '../src/ib/error-codes.js';
import { validate, coerceQuery } from '../src/http/schema.js';
import { Mirror } from '../src/state/mirror.js';
import type { OrderEvent } from '../src/state/types.js';

const T0 = Date.parse('2026-01-05T15:00:00Z');

describe('config – loadConfig', () => {
  it('defaults follow docs/architecture.md', () => {
    const c = loadConfig({});
    assert.deepEqual(
      [
        c.ibHost,
        c.ibPort,
        c.clientId,
        c.host,
        c.port,
        c.msgRate,
        c.requestTimeoutMs,
        c.maxRequestTimeoutMs,
        c.logLevel,
      ],
      ['127.0.0.1', 4002, 0, '127.0.0.1', 5000, 40, 10000, 60000, 'info'],
    );
    assert.equal(loadConfig({ IB_CLIENT_ID: '7' }).port, 5007);
  });
  it('listens beyond loopback only when told so explicitly (no TLS or keys on a worker)', () => {
    assert.throws(
      () => loadConfig({ HOST: '0.0.0.0' }),
      /Expected HOST to be a loopback address .* got "0\.0\.0\.0"\. Set IBREST_INSECURE=true/,
    );
    assert.equal(loadConfig({ HOST: '0.0.0.0', IBREST_INSECURE: 'true' }).host, '0.0.0.0');
    assert.equal(loadConfig({ HOST: '::1' }).host, '::1');
  });
  it('order safety: DATA_DIR per clientId, spare clientIds, fallback threshold', () => {
    const c = loadConfig({ IB_CLIENT_ID: '2', IB_SPARE_CLIENT_IDS: ' 9, 10 ' });
    assert.equal(c.orderSafety.dataDir, '.data/worker2');
    assert.deepEqual(c.spareClientIds, [9, 10]);
    assert.equal(c.clientIdRefusalsBeforeFallback, 3);
    assert.equal(loadConfig({ DATA_DIR: '/data' }).orderSafety.dataDir, '/data');
    assert.equal(loadConfig({ ORDER_DATA_DIR: '/x' }).orderSafety.dataDir, '/x');
  });
  for (const [env, message] of [
    [{ IB_CLIENT_ID: '32' }, /IB_CLIENT_ID .* from 0 to 31, got "32"/],
    [{ IB_MSG_RATE: '60' }, /IB_MSG_RATE .* from 1 to 50, got "60"/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL to be one of .*got "loud"/],
    [{ REQUEST_TIMEOUT_MS: '9000', MAX_REQUEST_TIMEOUT_MS: '5000' }, /MAX_REQUEST_TIMEOUT_MS to be at least/],
    [{ IB_SPARE_CLIENT_IDS: '7' }, /IB_SPARE_CLIENT_IDS .* from 8 to 31 .*got "7"/],
    [{ IB_SPARE_CLIENT_IDS: '9,9' }, /IB_SPARE_CLIENT_IDS .* distinct/],
    [{ IB_CLIENT_ID: '9', IB_SPARE_CLIENT_IDS: '9' }, /other than 9/],
    [{ IB_MAINTENANCE_WINDOWS: 'sometimes' }, /IB_MAINTENANCE_WINDOWS/],
    [{ ORDER_POLICY: '{"keys":{"a":{"maxQuantity":-5}}}' }, /maxQuantity/],
  ] as const) {
    it(`refuses ${JSON.stringify(env)}`, () =>
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      ));
  }
});

describe('state – order store is idempotent', () => {
  const status = (status: string, filled: number, remaining: number) =>
    ({
      type: 'orderStatus',
      orderId: 1,
      status,
      filled,
      remaining,
      avgFillPrice: filled ? 10 : 0,
      permId: 77,
      clientId: 3,
    }) as const;
  it('duplicate openOrder/orderStatus/execution/commission messages change nothing', () => {
    const m = new Mirror(3, () => new Date(T0));
    const events: OrderEvent[] = [];
    m.orders.onEvent((e) => events.push(e));
    const open = {
      type: 'openOrder',
      orderId: 1,
      contract: { conId: 1, symbol: 'X' },
      order: { orderId: 1, clientId: 3, permId: 77, action: 'BUY', totalQuantity: 10 },
      orderState: { status: 'Submitted' },
    } as const;
    const exec = {
      type: 'execution',
      contract: { conId: 1 },
      execution: { execId: 'e1', orderId: 1, permId: 77, clientId: 3, shares: 4, price: 10, side: 'BOT' },
    } as const;
    for (let i = 0; i < 3; i++) {
      m.apply(open);
      m.apply(status('Submitted', 0, 10));
      m.apply(exec);
      m.apply(status('Submitted', 4, 6));
      m.apply({ type: 'commission', report: { execId: 'e1', commission: 1, currency: 'USD' } });
    }
    const r = m.orders.get(1)!;
    assert.deepEqual(
      r.history.map((h) => [h.status, h.filled]),
      [
        ['Submitted', 0],
        ['Submitted', 4],
      ],
    );
    assert.equal(r.fills.length, 1);
    assert.equal(r.fills[0]!.commission, 1);
    assert.equal(m.executions.query().length, 1);
    assert.deepEqual(
      events.filter((e) => e.type !== 'open').map((e) => e.type),
      ['status', 'fill', 'status', 'commission'],
    );
    assert.equal(m.orders.getByPermId(77), r);
  });
  it('a late Submitted never moves a Filled order back; orders of other clients are kept apart', () => {
    const m = new Mirror(0);
    m.apply(status('Filled', 10, 0));
    m.apply(status('Submitted', 0, 10));
    assert.equal(m.orders.get(1)!.status, 'Filled');
    m.apply({
      type: 'orderStatus',
      orderId: 1,
      status: 'Submitted',
      filled: 0,
      remaining: 5,
      avgFillPrice: 0,
      permId: 88,
      clientId: 5,
    });
    assert.equal(m.orders.all().length, 2);
    assert.equal(m.orders.get(1, 5)!.permId, 88);
    assert.deepEqual(
      m.orders.open().map((o) => o.permId),
      [88],
    );
  });
});

describe('state – positions, executions', () => {
  it('a re-sync snapshot drops positions closed meanwhile', () => {
    const m = new Mirror(0);
    m.apply({ type: 'position', account: 'A', contract: { conId: 1 }, pos: 5 });
    m.apply({ type: 'position', account: 'A', contract: { conId: 2 }, pos: 7 });
    m.apply({ type: 'positionsBegin' });
    m.apply({ type: 'position', account: 'A', contract: { conId: 2 }, pos: 8 });
    m.apply({ type: 'positionsEnd' });
    assert.deepEqual(
      m.positions.all().map((p) => [p.contract.conId, p.pos]),
      [[2, 8]],
    );
    m.apply({ type: 'position', account: 'A', contract: { conId: 2 }, pos: 0 });
    assert.equal(m.positions.all().length, 0);
  });
  it('execution filters: side, symbol, time, clientId; early commissions attach', () => {
    const m = new Mirror(0);
    m.apply({ type: 'commission', report: { execId: 'b', commission: 2 } });
    m.apply({
      type: 'execution',
      contract: { symbol: 'AAPL', secType: 'STK' },
      execution: { execId: 'a', side: 'BOT', clientId: 1, time: '20260105 10:00:00 UTC' },
    });
    m.apply({
      type: 'execution',
      contract: { symbol: 'MSFT', secType: 'STK' },
      execution: { execId: 'b', side: 'SLD', clientId: 2, time: '20260105-11:00:00' },
    });
    const ids = (q: object) => m.executions.query(q).map((e) => e.execution.execId);
    assert.deepEqual(ids({ side: 'BUY' }), ['a']);
    assert.deepEqual(ids({ symbol: 'msft' }), ['b']);
    assert.deepEqual(ids({ time: '20260105 10:30:00' }), ['b']);
    assert.deepEqual(ids({ clientId: 1 }), ['a']);
    assert.equal(m.executions.query({ clientId: 2 })[0]!.commissionReport?.commission, 2);
  });
});

describe('pacer – strict sliding window', () => {
  it('sends at most `rate` per window and predicts the wait', async () => {
    const p = new Pacer({ rate: 5, windowMs: 200 });
    const sentAt: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => p.send('t', () => sentAt.push(Date.now() - started))));
    for (let i = 5; i < sentAt.length; i++)
      assert.ok(sentAt[i]! - sentAt[i - 5]! >= 200, `message ${i} at ${sentAt[i]} after ${sentAt[i - 5]}`);
    assert.ok(p.estimateSendAt(6) - Date.now() > 0);
  });
  it('refuses with 429 and Retry-After when the queue cannot drain before the deadline', async () => {
    const p = new Pacer({ rate: 2, windowMs: 1000 });
    const pending = Array.from({ length: 6 }, () => p.send('t', () => 1));
    await assert.rejects(
      p.send('late', () => 1, { deadlineAt: Date.now() + 100 }),
      (e: { status: number; retryAfter: number }) => e.status === 429 && e.retryAfter >= 2,
    );
    await Promise.all(pending.slice(0, 2));
  });
});

describe('error codes – notices never become errors', () => {
  it('classifies', () => {
    for (const c of [2104, 2106, 2158, 2107, 2108, 2119, 399])
      assert.ok(['info', 'farm-ok', 'farm-inactive'].includes(classifyIbCode(c)), String(c));
    assert.equal(classifyIbCode(2103), 'farm-down');
    assert.equal(classifyIbCode(1101), 'link-restored-lost');
    assert.equal(classifyIbCode(326), 'client-id-in-use');
    assert.equal(classifyIbCode(201), 'request');
  });
  it('maps IB failures once', () => {
    const op = { operation: 'x', orderId: 5 };
    assert.deepEqual(
      [200, 162, 201, 202, 10147, 321].map((c) => [
        ibErrorToApiError(c, 'm', op).status,
        ibErrorToApiError(c, 'm', op).code,
      ]),
      [
        [404, 'CONTRACT_NOT_FOUND'],
        [429, 'IB_PACING_VIOLATION'],
        [422, 'ORDER_REJECTED'],
        [422, 'ORDER_REJECTED'],
        [404, 'ORDER_NOT_FOUND'],
        [400, 'IB_INVALID_REQUEST'],
      ],
    );
    assert.ok(ibErrorToApiError(162, 'm', op).retryAfter! >= 1);
  });
});

describe('schema – validation and query coercion', () => {
  const s = {
    type: 'object',
    additionalProperties: false,
    required: ['n'],
    properties: { n: { type: 'integer', minimum: 1 }, b: { type: 'boolean' }, e: { type: 'string', enum: ['A', 'B'] } },
  } as const;
  it('reports every offending field with expected/got', () => {
    const errs = validate(s, { n: 0, e: 'C', x: 1 }, 'body');
    assert.deepEqual(errs.map((e) => e.field).sort(), ['body.e', 'body.n', 'body.x']);
    assert.match(errs.find((e) => e.field === 'body.n')!.message, /expected ≥ 1, got 0/);
    assert.deepEqual(validate(s, { n: 2 }, 'body'), []);
  });
  it('coerces query text to the schema type, leaving junk to fail', () => {
    assert.deepEqual(coerceQuery(s, { n: '3', b: 'true', e: 'A' }), { n: 3, b: true, e: 'A' });
    assert.equal(validate(s, coerceQuery(s, { n: '3.5' }), 'query').length, 1);
  });
});

describe('order ids and coalescing', () => {
  it('never reuses an id', () => {
    const ids = new OrderIds();
    ids.floor(10);
    assert.deepEqual(ids.allocate(2), [10, 11]);
    ids.seen(20);
    ids.floor(5);
    assert.deepEqual(ids.allocate(), [21]);
  });
  it('shares in-flight answers, caches successes only', async () => {
    let now = T0;
    let shared = 0;
    const c = new Coalescer<number>(
      1000,
      () => shared++,
      () => now,
    );
    let calls = 0;
    const run = () => c.run('k', async () => ++calls);
    assert.deepEqual(await Promise.all([run(), run()]), [1, 1]);
    assert.equal(await run(), 1);
    now += 2000;
    assert.equal(await run(), 2);
    assert.equal(shared, 2);
    await assert.rejects(c.run('f', () => Promise.reject(new Error('x'))));
    assert.equal(await c.run('f', async () => 5), 5);
  });
});
