import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '@ibrest/common';
import {
  assertOrderAllowed,
  evaluateOrderPolicy,
  loadOrderPolicyConfig,
  loadOrderSafetyConfig,
  parseOrderPolicyConfig,
  PERMISSIVE_POLICY,
  policyForKey,
  PolicyRefusedError,
  type MarketSnapshot,
  type OrderPolicy,
  type OrderPolicyRequest,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const strict: OrderPolicy = {
  readOnly: false,
  symbols: ['AAPL', 'MSFT', 'ES'],
  secTypes: ['STK', 'FUT'],
  maxQuantity: 100,
  maxNotional: 20_000,
  priceBandPercent: 5,
};
const buy = (over: Partial<OrderPolicyRequest> = {}): OrderPolicyRequest => ({
  action: 'place',
  symbol: 'AAPL',
  secType: 'STK',
  side: 'BUY',
  quantity: 10,
  orderType: 'LMT',
  limitPrice: 190,
  ...over,
});
const market: MarketSnapshot = { lastPrice: 190 };

describe('safety policy', () => {
  const table: [string, OrderPolicy, OrderPolicyRequest, MarketSnapshot, string | null][] = [
    ['permissive policy allows anything', PERMISSIVE_POLICY, buy({ quantity: 1e9, symbol: 'ANY' }), {}, null],
    ['within every limit', strict, buy(), market, null],
    ['symbols compare case-insensitively', strict, buy({ symbol: 'aapl', secType: 'stk' }), market, null],
    ['read-only refuses a place', { ...strict, readOnly: true }, buy(), market, 'POLICY_READ_ONLY'],
    [
      'read-only refuses a modify',
      { ...strict, readOnly: true },
      buy({ action: 'modify' }),
      market,
      'POLICY_READ_ONLY',
    ],
    ['read-only refuses a cancel', { ...strict, readOnly: true }, { action: 'cancel' }, {}, 'POLICY_READ_ONLY'],
    ['read-only allows a what-if preview', { ...strict, readOnly: true }, buy({ action: 'whatif' }), market, null],
    [
      'what-if still reports the limits',
      strict,
      buy({ action: 'whatif', quantity: 101 }),
      market,
      'POLICY_QUANTITY_LIMIT',
    ],
    ['cancel ignores contract and size limits', strict, { action: 'cancel', symbol: 'TSLA', quantity: 1e6 }, {}, null],
    ['secType outside the allowlist', strict, buy({ secType: 'OPT' }), market, 'POLICY_SECTYPE_NOT_ALLOWED'],
    [
      'missing secType under an allowlist fails closed',
      strict,
      buy({ secType: undefined }),
      market,
      'POLICY_SECTYPE_NOT_ALLOWED',
    ],
    ['symbol outside the allowlist', strict, buy({ symbol: 'TSLA' }), market, 'POLICY_SYMBOL_NOT_ALLOWED'],
    [
      'missing symbol under an allowlist fails closed',
      strict,
      buy({ symbol: undefined }),
      market,
      'POLICY_SYMBOL_NOT_ALLOWED',
    ],
    ['quantity at the limit', strict, buy({ quantity: 100, limitPrice: 190 }), market, null],
    ['quantity over the limit', strict, buy({ quantity: 101 }), market, 'POLICY_QUANTITY_LIMIT'],
    ['missing quantity under a quantity limit', strict, buy({ quantity: undefined }), market, 'POLICY_QUANTITY_LIMIT'],
    [
      'notional over the limit at the limit price',
      strict,
      buy({ quantity: 100, limitPrice: 201, orderType: 'LMT' }),
      { lastPrice: 200 },
      'POLICY_NOTIONAL_LIMIT',
    ],
    [
      'market order valued at the last price',
      strict,
      buy({ orderType: 'MKT', limitPrice: undefined, quantity: 100 }),
      { lastPrice: 199 },
      null,
    ],
    [
      'market order over the notional at the last price',
      strict,
      buy({ orderType: 'MKT', limitPrice: undefined, quantity: 100 }),
      { lastPrice: 201 },
      'POLICY_NOTIONAL_LIMIT',
    ],
    [
      'market order without a price fails closed',
      strict,
      buy({ orderType: 'MKT', limitPrice: undefined }),
      {},
      'POLICY_PRICE_UNAVAILABLE',
    ],
    [
      'multiplier counts in the notional',
      strict,
      buy({ symbol: 'ES', secType: 'FUT', quantity: 1, limitPrice: 5000, multiplier: 50 }),
      { lastPrice: 5000 },
      'POLICY_NOTIONAL_LIMIT',
    ],
    ['limit inside the band', strict, buy({ limitPrice: 199 }), market, null],
    ['buy limit above the band', strict, buy({ limitPrice: 200 }), market, 'POLICY_PRICE_BAND'],
    ['sell limit below the band', strict, buy({ side: 'SELL', limitPrice: 180 }), market, 'POLICY_PRICE_BAND'],
    [
      'band without a last price fails closed',
      { readOnly: false, priceBandPercent: 5 },
      buy(),
      {},
      'POLICY_PRICE_UNAVAILABLE',
    ],
    [
      'band ignores orders without a limit price',
      { readOnly: false, priceBandPercent: 5 },
      buy({ orderType: 'MKT', limitPrice: undefined }),
      {},
      null,
    ],
  ];
  for (const [name, policy, request, snapshot, code] of table) {
    test(`safety policy – ${name}`, () => {
      const decision = evaluateOrderPolicy(policy, request, snapshot);
      if (code === null) assert.deepEqual(decision, { allowed: true });
      else {
        assert.equal(decision.allowed, false);
        assert.equal(!decision.allowed && decision.code, code);
        assert.ok(!decision.allowed && decision.message.length > 0);
      }
    });
  }

  test('safety policy – refusals carry the numbers behind them', () => {
    const decision = evaluateOrderPolicy(strict, buy({ limitPrice: 200 }), market);
    assert.deepEqual(decision, {
      allowed: false,
      code: 'POLICY_PRICE_BAND',
      message: 'Limit price 200 is 5.26% away from the last price 190; the band is 5%',
      details: { limitPrice: 200, lastPrice: 190, deviationPercent: 5.26, priceBandPercent: 5 },
    });
    assert.throws(
      () => assertOrderAllowed(strict, buy({ quantity: 500 }), market),
      (err: PolicyRefusedError) =>
        err instanceof PolicyRefusedError &&
        err.status === 403 &&
        err.code === 'POLICY_QUANTITY_LIMIT' &&
        err.details?.maxQuantity === 100,
    );
  });
});

describe('policy config', () => {
  test('policy config – key rules lay over the default; null removes a limit; unknown keys get the default', () => {
    const config = parseOrderPolicyConfig({
      default: { maxQuantity: 1000, priceBandPercent: 10, secTypes: ['stk'] },
      keys: {
        'algo-1': { symbols: ['aapl', ' msft '], maxNotional: 50_000 },
        dashboard: { readOnly: true },
        desk: { maxQuantity: null },
      },
    });
    assert.deepEqual(policyForKey(config, 'algo-1'), {
      readOnly: false,
      maxQuantity: 1000,
      priceBandPercent: 10,
      secTypes: ['STK'],
      symbols: ['AAPL', 'MSFT'],
      maxNotional: 50_000,
    });
    assert.equal(policyForKey(config, 'dashboard').readOnly, true);
    assert.equal(policyForKey(config, 'desk').maxQuantity, undefined);
    assert.equal(policyForKey(config, 'desk').priceBandPercent, 10);
    assert.deepEqual(policyForKey(config, 'stranger'), config.default);
    assert.deepEqual(policyForKey(config, undefined), config.default);
    assert.deepEqual(policyForKey(config, 'toString'), config.default, 'prototype names are not keys');
  });

  const bad: [string, unknown, string][] = [
    ['not an object', [], 'Expected ORDER_POLICY to be an object, got []'],
    [
      'unknown top-level field',
      { defaults: {} },
      'Expected ORDER_POLICY to have only "default" and "keys", got "defaults"',
    ],
    [
      'negative quantity',
      { default: { maxQuantity: -5 } },
      'Expected ORDER_POLICY.default.maxQuantity to be a number > 0 or null, got -5',
    ],
    [
      'string band',
      { keys: { a: { priceBandPercent: '5' } } },
      'Expected ORDER_POLICY.keys["a"].priceBandPercent to be a number > 0 or null, got "5"',
    ],
    [
      'readOnly as string',
      { keys: { a: { readOnly: 'yes' } } },
      'Expected ORDER_POLICY.keys["a"].readOnly to be true or false, got "yes"',
    ],
    [
      'unknown secType',
      { default: { secTypes: ['STOCK'] } },
      'Expected ORDER_POLICY.default.secTypes[] to be an IB secType',
    ],
    [
      'empty symbol list',
      { default: { symbols: [] } },
      'Expected ORDER_POLICY.default.symbols to be a non-empty array of non-empty strings or null, got []',
    ],
    [
      'typo in a rule field',
      { keys: { a: { maxQty: 1 } } },
      'Expected ORDER_POLICY.keys["a"] fields to be among ' +
        'readOnly, symbols, secTypes, maxQuantity, maxNotional, priceBandPercent, got "maxQty"',
    ],
  ];
  for (const [name, value, message] of bad) {
    test(`policy config – rejects ${name}`, () => {
      assert.throws(
        () => parseOrderPolicyConfig(value, 'ORDER_POLICY'),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(message),
      );
    });
  }

  test('policy config – loads from ORDER_POLICY or ORDER_POLICY_FILE, none means no limits', async () => {
    assert.deepEqual(loadOrderPolicyConfig({}).default, PERMISSIVE_POLICY);
    const inline = loadOrderPolicyConfig({ ORDER_POLICY: '{"default":{"readOnly":true}}' });
    assert.equal(inline.default.readOnly, true);
    const dir = await tempDir('policy');
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ keys: { k: { maxQuantity: 3 } } }));
    assert.equal(policyForKey(loadOrderPolicyConfig({ ORDER_POLICY_FILE: file }), 'k').maxQuantity, 3);
    assert.throws(
      () => loadOrderPolicyConfig({ ORDER_POLICY: '{nope' }),
      /^ConfigError: Expected ORDER_POLICY to be JSON, got a parse error/,
    );
    assert.throws(() => loadOrderPolicyConfig({ ORDER_POLICY: '{}', ORDER_POLICY_FILE: file }), ConfigError);
  });
});

describe('order safety config', () => {
  test('order safety config – defaults, and every variable validated', () => {
    const config = loadOrderSafetyConfig({});
    assert.equal(config.dataDir, 'data');
    assert.equal(config.fsync, true);
    assert.equal(config.idempotencyTtlMs, 24 * 3_600_000);
    assert.equal(config.maintenanceWindows.length, 2);
    assert.deepEqual(config.policy.default, PERMISSIVE_POLICY);
    const custom = loadOrderSafetyConfig({
      ORDER_DATA_DIR: '/var/lib/ibrest',
      ORDER_DATA_FSYNC: 'false',
      IDEMPOTENCY_TTL_HOURS: '48',
      IB_MAINTENANCE_WINDOWS: 'none',
    });
    assert.deepEqual(
      [custom.dataDir, custom.fsync, custom.idempotencyTtlMs, custom.maintenanceWindows],
      ['/var/lib/ibrest', false, 48 * 3_600_000, []],
    );
    assert.throws(
      () => loadOrderSafetyConfig({ IDEMPOTENCY_TTL_HOURS: '1' }),
      /Expected IDEMPOTENCY_TTL_HOURS to be a number from 24 to 2160, got "1"/,
    );
    assert.throws(
      () => loadOrderSafetyConfig({ ORDER_DATA_FSYNC: 'sometimes' }),
      /Expected ORDER_DATA_FSYNC to be true or false/,
    );
  });
});
