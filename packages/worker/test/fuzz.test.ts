import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AAPL, http, startStack, type Stack } from './helpers.js';

const PLACE_ORDER = 3;
const CANCEL_ORDER = 4;

const validLeg = () => ({
  contract: { ...AAPL } as Record<string, unknown>,
  order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 10 } as Record<string, unknown>,
});

/** Each mutation makes a valid leg invalid in one way a caller could get wrong. */
const mutation = fc.oneof(
  fc.record({
    k: fc.constant('order.totalQuantity'),
    v: fc.oneof(fc.double({ max: 0, noNaN: true }), fc.string(), fc.boolean(), fc.constant(null)),
  }),
  fc.record({ k: fc.constant('order.orderType'), v: fc.string().filter((x) => !['MKT', 'LMT'].includes(x)) }),
  fc.record({
    k: fc.constant('order.action'),
    v: fc.oneof(
      fc.string().filter((x) => !['BUY', 'SELL', 'SSHORT'].includes(x)),
      fc.integer(),
    ),
  }),
  fc.record({ k: fc.constant('order.lmtPrice'), v: fc.oneof(fc.constant(undefined), fc.string(), fc.constant(1e12)) }),
  fc.record({
    k: fc.constantFrom('contract.symbol', 'contract.exchange', 'contract.secType'),
    v: fc.constant(undefined),
  }),
  fc.record({ k: fc.constant('contract.secType'), v: fc.string().filter((x) => x !== 'STK' && x.length < 5) }),
  fc.record({ k: fc.constant('contract.currency'), v: fc.string().filter((x) => !/^[A-Z]{3}$/.test(x)) }),
  fc.record({ k: fc.constantFrom('order.bogusField', 'contract.bogusField'), v: fc.jsonValue() }),
  fc.record({
    k: fc.constantFrom('contract', 'order'),
    v: fc.oneof(fc.constant(undefined), fc.string(), fc.integer(), fc.array(fc.integer())),
  }),
);

function mutate(m: { k: string; v: unknown }) {
  const leg = validLeg() as Record<string, any>;
  const [a, b] = m.k.split('.');
  if (b === undefined) leg[a!] = m.v;
  else leg[a!][b] = m.v;
  return JSON.parse(JSON.stringify(leg)) as unknown;
}

describe('fuzz – bad input → 4xx and nothing sent to IB', () => {
  let s: Stack;
  let sentBefore = 0;
  const sent = () =>
    s.sim.control.received({ clientId: 3 }).filter((m) => m.msgId === PLACE_ORDER || m.msgId === CANCEL_ORDER).length;
  before(async () => {
    s = await startStack();
    sentBefore = sent();
  });
  after(() => s.close());

  it('POST /order with one mutated leg, or a mutated leg inside a bracket', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (m, asBracket) => {
        const bad = mutate(m);
        const body = asBracket ? [validLeg(), bad] : bad;
        const r = await http(`${s.url}/order`, { method: 'POST', json: body });
        assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'INVALID_REQUEST');
        assert.ok(Array.isArray(r.body.error.details.fields) && r.body.error.details.fields.length > 0);
      }),
      { numRuns: 150 },
    );
    assert.equal(sent(), sentBefore);
  });

  it('arbitrary JSON to every write route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom(['POST', '/order'], ['PUT', '/order/1'], ['DELETE', '/order']),
        async (body, [method, path]) => {
          const r = await http(`${s.url}${path}`, { method, json: body });
          assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${JSON.stringify(body)} → ${r.status}`);
          assert.equal(typeof r.body.error.code, 'string');
        },
      ),
      { numRuns: 150 },
    );
    assert.equal(sent(), sentBefore);
  });

  it('malformed JSON, oversized bodies, wrong query types', async () => {
    for (const raw of ['{', '{"contract":', 'nul', '[1,2', '{"a":1}}', '\u0000']) {
      const r = await http(`${s.url}/order`, {
        method: 'POST',
        body: raw,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 400, raw);
      assert.equal(r.body.error.code, 'INVALID_REQUEST');
    }
    const big = {
      contract: AAPL,
      order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT', orderRef: 'x'.repeat(70_000) },
    };
    const r = await http(`${s.url}/order`, { method: 'POST', json: big });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 'PAYLOAD_TOO_LARGE');
    for (const q of ['wait=now', 'timeout=abc', 'timeout=-1', 'timeout=1000', 'unknown=1']) {
      const x = await http(`${s.url}/order?${q}`, { method: 'POST', json: validLeg() });
      assert.equal(x.status, 400, q);
    }
    const notJson = await http(`${s.url}/order`, {
      method: 'POST',
      body: 'action=BUY',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(notJson.status, 400);
    assert.equal((await http(`${s.url}/order/abc`)).status, 400);
    assert.equal((await http(`${s.url}/order/-5`, { method: 'DELETE' })).status, 400);
    assert.equal(sent(), sentBefore);
  });
});
