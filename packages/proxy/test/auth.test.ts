import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashApiKey, parseApiKeys } from '../src/index.js';
import { Allowlist } from '../src/security/allowlist.js';
import { request, startStack, type Stack } from './helpers.js';

const KEYS = { reader: 'r-0123456789abcdef', trader: 't-0123456789abcdef', admin: 'a-0123456789abcdef' };
const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });

describe('auth – API keys and scopes', () => {
  let stack: Stack;
  before(async () => {
    const apiKeys = parseApiKeys(
      `reader:read:${hashApiKey(KEYS.reader)},trader:read+trade:${hashApiKey(KEYS.trader)}\n` +
        `ops:admin:${hashApiKey(KEYS.admin)}`,
    );
    stack = await startStack(3, { apiKeys });
  });
  after(() => stack.close());

  it('no key → 401 with WWW-Authenticate; unknown key → 401', async () => {
    const none = await request(stack.url + '/account/positions');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(none.json.error.code, 'UNAUTHORIZED');
    const bad = await request(stack.url + '/account/positions', { headers: bearer('nope') });
    assert.equal(bad.status, 401);
    assert.ok(
      stack.stubs.every((s) => s.requests.length === 0),
      'no refused request reached a worker',
    );
  });

  const table: Array<[keyof typeof KEYS, string, string, number]> = [
    ['reader', 'GET', '/account/positions', 200],
    ['reader', 'GET', '/order', 200],
    ['reader', 'POST', '/order', 403],
    ['reader', 'DELETE', '/order/4', 403],
    ['reader', 'GET', '/clients', 200],
    ['reader', 'GET', '/metrics', 200],
    ['trader', 'POST', '/order', 200],
    ['trader', 'PUT', '/order/4', 200],
    ['trader', 'POST', '/order/global-cancel', 403],
    ['trader', 'POST', '/clients/3/drain', 404],
    ['reader', 'PATCH', '/order/4', 405],
    ['admin', 'POST', '/order/global-cancel', 200],
    ['admin', 'GET', '/account/positions', 403],
  ];
  for (const [who, method, path, status] of table) {
    it(`${who} ${method} ${path} → ${status}`, async () => {
      const r = await request(stack.url + path, {
        method,
        headers: bearer(KEYS[who]),
        body: method === 'GET' ? undefined : '{}',
      });
      assert.equal(r.status, status);
      if (status === 403) assert.equal(r.json.error.code, 'INSUFFICIENT_SCOPE');
    });
  }

  it('the worker learns the key name, never the key', async () => {
    const r = await request(stack.url + '/order', {
      method: 'POST',
      headers: { ...bearer(KEYS.trader), 'x-ibrest-key': 'forged' },
      body: '{}',
    });
    assert.equal(r.json.clientId, 0);
    assert.equal(r.json.headers['x-ibrest-key'], 'trader');
    assert.equal(r.json.headers.authorization, undefined);
  });

  it('health probes need no key; failures are counted by reason', async () => {
    assert.equal((await request(stack.url + '/health/ready')).status, 200);
    const m = await stack.proxy.metrics.registries.app.getSingleMetric('ibproxy_auth_failures_total')!.get();
    const by = Object.fromEntries(m.values.map((v) => [v.labels.reason, v.value]));
    assert.ok(by.missing_key! >= 1 && by.bad_key! >= 1 && by.scope! >= 1);
  });
});

describe('auth – address allowlist', () => {
  it('refuses callers outside the allowlist with 403 before looking at keys', async () => {
    const stack = await startStack(2, { ipAllowlist: ['10.0.0.0/8', 'fd00::/8'] });
    try {
      const r = await request(stack.url + '/account/positions');
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'ADDRESS_NOT_ALLOWED');
    } finally {
      await stack.close();
    }
    const open = await startStack(2, { ipAllowlist: ['127.0.0.0/8'] });
    try {
      assert.equal((await request(open.url + '/account/positions')).status, 200);
    } finally {
      await open.close();
    }
  });

  it('matches IPv4, IPv6 and IPv4-mapped IPv6 addresses', () => {
    const list = new Allowlist(['192.168.1.0/24', '2001:db8::/32', '::1']);
    const cases: Array<[string, boolean]> = [
      ['192.168.1.77', true],
      ['192.168.2.1', false],
      ['::ffff:192.168.1.5', true],
      ['2001:db8:1::9', true],
      ['2001:db9::1', false],
      ['::1', true],
      ['127.0.0.1', false],
      ['garbage', false],
    ];
    for (const [addr, ok] of cases) assert.equal(list.allows(addr), ok, addr);
    assert.throws(() => new Allowlist(['10.0.0.0/33']), /Expected IP_ALLOWLIST prefix/);
    assert.throws(() => new Allowlist(['nonsense']), /Expected IP_ALLOWLIST entry/);
  });
});
