import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { mainScript, startService, type RunningService } from '@ibrest/stack';
import { http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const hash = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const KEYS = { reader: 'reader-secret-1', trader: 'trader-secret-2', admin: 'admin-secret-3' };
const ORDER = JSON.stringify({
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 },
});

/** API keys, scopes and the IP allowlist, enforced by a real proxy in front of real workers. */
describe('security – keys, scopes and allowlist through the stack', () => {
  let stack: Stack;
  let locked: RunningService;
  let lockedUrl: string;
  let denied: RunningService;
  let deniedUrl: string;
  const workers = () => stack.workers.map((w) => `${w.clientId}=${w.url}`).join(',');
  const startProxy = async (env: Record<string, string>): Promise<[RunningService, string]> => {
    const svc = startService({
      name: 'proxy-secured',
      script: mainScript('@ibrest/proxy'),
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        WORKERS: workers(),
        DATA_DIR: `${stack.dataDir}/proxy-secured`,
        IB_MAINTENANCE_WINDOWS: 'none',
        ...stack.tokenEnv,
        ...env,
      },
    });
    const { port } = await svc.listening;
    return [svc, `http://127.0.0.1:${port}`];
  };

  before(async () => {
    stack = await startStack({ workers: 2 });
    const apiKeys =
      `reader:read:${hash(KEYS.reader)},trader:read+trade:${hash(KEYS.trader)},` +
      `ops:read+trade+admin:${hash(KEYS.admin)}`;
    [locked, lockedUrl] = await startProxy({ API_KEYS: apiKeys });
    [denied, deniedUrl] = await startProxy({ API_KEYS: apiKeys, IP_ALLOWLIST: '10.0.0.0/8' });
  });
  after(async () => {
    await Promise.all([locked?.stop(), denied?.stop()]);
    await stack?.stop();
  });

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  test('no key → 401 with WWW-Authenticate, and nothing reaches IB', async () => {
    const before = stack.sim.control.orders().length;
    const res = await http(`${lockedUrl}/order`, { method: 'POST', body: ORDER });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
    assert.match(res.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal(stack.sim.control.orders().length, before);
  });

  test('unknown key → 401', async () => {
    const res = await http(`${lockedUrl}/account/positions`, { headers: auth('not-a-key') });
    assert.equal(res.status, 401);
  });

  test('read scope reads, but cannot trade (403) — and the refused order never reaches IB', async () => {
    const read = await http(`${lockedUrl}/account/positions`, { headers: auth(KEYS.reader) });
    assert.equal(read.status, 200);
    const before = stack.sim.control.orders().length;
    const order = await http(`${lockedUrl}/order`, { method: 'POST', body: ORDER, headers: auth(KEYS.reader) });
    assert.equal(order.status, 403);
    assert.equal(order.body.error.code, 'INSUFFICIENT_SCOPE');
    assert.equal(stack.sim.control.orders().length, before);
  });

  test('trade scope places an order on clientId 0', async () => {
    const res = await http(`${lockedUrl}/order`, { method: 'POST', body: ORDER, headers: auth(KEYS.trader) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ib-client-id'), '0');
  });

  test('global cancel needs admin', async () => {
    const trader = await http(`${lockedUrl}/order/global-cancel`, { method: 'POST', headers: auth(KEYS.trader) });
    assert.equal(trader.status, 403);
  });

  test('metrics need a key when keys are configured', async () => {
    assert.equal((await http(`${lockedUrl}/metrics`)).status, 401);
    assert.equal((await http(`${lockedUrl}/metrics`, { headers: auth(KEYS.reader) })).status, 200);
  });

  test('a client outside the allowlist → 403 even with a valid key', async () => {
    const res = await http(`${deniedUrl}/account/positions`, { headers: auth(KEYS.admin) });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'ADDRESS_NOT_ALLOWED');
  });

  test('the proxy never logs a key', async () => {
    // The secured proxy logged at warn: its 401/403 lines must not contain any secret.
    const logs: string[] = [];
    const [svc, url] = await startProxy({ API_KEYS: `reader:read:${hash(KEYS.reader)}`, LOG_LEVEL: 'info' });
    svc.child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
    await http(`${url}/account/positions`, { headers: auth(KEYS.reader) });
    await http(`${url}/account/positions`, { headers: auth('wrong-secret-xyz') });
    await svc.stop();
    const text = logs.join('');
    assert.ok(text.length > 0, 'the proxy logged its access lines');
    for (const secret of [KEYS.reader, 'wrong-secret-xyz']) assert.ok(!text.includes(secret), `log leaks ${secret}`);
  });
});
