import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { mainScript, startService, type RunningService } from '@ibrest/stack';
import { http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const hash = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const TRADER = 'trader-secret-0123456789';
const order = (qty: number) =>
  JSON.stringify({
    contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
    order: { action: 'BUY', orderType: 'LMT', totalQuantity: qty, lmtPrice: 1 },
  });
/** Read-only unless a key says otherwise: an identity that went missing shows up as POLICY_READ_ONLY. */
const POLICY = JSON.stringify({
  default: { readOnly: true },
  keys: { trader: { readOnly: false, maxQuantity: 5 }, wide: { readOnly: false } },
});

/** A raw HTTP/1.1 request: fetch refuses to send `Connection` (a forbidden header name), a client can. */
function raw(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const options = { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } };
    const req = httpRequest(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The trust boundary: no client can set, forge or remove the identity the proxy gives a worker, and a worker
 * serves only requests the proxy vouched for. Real proxy processes in front of real workers.
 */
describe('trust boundary – identity and vouching through the stack', () => {
  let stack: Stack;
  let keyed: RunningService;
  let keyedUrl: string;
  before(async () => {
    stack = await startStack({ workers: 2, workerEnv: { ORDER_POLICY: POLICY } });
    keyed = startService({
      name: 'proxy-keyed',
      script: mainScript('@ibrest/proxy'),
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        IB_MAINTENANCE_WINDOWS: 'none',
        WORKERS: stack.workers.map((w) => `${w.clientId}=${w.url}`).join(','),
        DATA_DIR: `${stack.dataDir}/proxy-keyed`,
        API_KEYS: `trader:read+trade:${hash(TRADER)}`,
        ...stack.tokenEnv,
      },
    });
    keyedUrl = `http://127.0.0.1:${(await keyed.listening).port}`;
  });
  after(async () => {
    await keyed?.stop();
    await stack?.stop();
  });

  test('without API keys a client-sent x-ibrest-key never selects a policy: the default applies', async () => {
    const before = stack.sim.control.orders().length;
    const res = await raw(`${stack.proxyUrl}/order`, { 'x-ibrest-key': 'wide', 'X-IBRest-Scopes': 'admin' }, order(1));
    assert.equal(res.status, 403, JSON.stringify(res.json));
    assert.equal(res.json.error.code, 'POLICY_READ_ONLY');
    assert.equal(stack.sim.control.orders().length, before);
  });

  test('a forged identity never replaces the key’s own: the trader stays limited to 5', async () => {
    const auth = { authorization: `Bearer ${TRADER}` };
    const forged = await raw(`${keyedUrl}/order`, { ...auth, 'x-ibrest-key': 'wide' }, order(10));
    assert.equal(forged.status, 403, JSON.stringify(forged.json));
    assert.equal(forged.json.error.code, 'POLICY_QUANTITY_LIMIT');
  });

  test('naming x-ibrest-key (or the token) in Connection never strips the identity the proxy sets', async () => {
    const auth = { authorization: `Bearer ${TRADER}` };
    const connections = ['x-ibrest-key', 'keep-alive, x-ibrest-key, x-ibrest-proxy-token', 'close, X-IBRest-Key'];
    for (const connection of connections) {
      const stripped = await raw(`${keyedUrl}/order`, { ...auth, connection }, order(10));
      assert.equal(stripped.status, 403, `${connection}: ${JSON.stringify(stripped.json)}`);
      const why = `${connection}: the trader's own policy, not the default`;
      assert.equal(stripped.json.error.code, 'POLICY_QUANTITY_LIMIT', why);
    }
    const before = stack.sim.control.orders().length;
    const headers = { ...auth, connection: 'x-ibrest-key', 'x-ibrest-key': 'wide' };
    const ok = await raw(`${keyedUrl}/order`, headers, order(2));
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    assert.equal(stack.sim.control.orders().length, before + 1);
  });

  test('a worker port refuses what did not come through the proxy (401), health and metrics stay open', async () => {
    const w0 = stack.workers[0]!.url;
    const before = stack.sim.control.orders().length;
    const direct = await http(`${w0}/order`, { method: 'POST', body: order(1) });
    assert.equal(direct.status, 401);
    assert.equal(direct.body.error.code, 'PROXY_TOKEN_REQUIRED');
    const forged = { 'x-ibrest-proxy-token': 'x'.repeat(43) };
    const wrong = await http(`${w0}/order/global-cancel`, { method: 'POST', headers: forged });
    assert.equal(wrong.status, 401);
    assert.equal((await http(`${w0}/order`)).status, 401, 'reads too');
    assert.equal(stack.sim.control.orders().length, before, 'nothing reached IB');
    assert.equal((await http(`${w0}/health/ready`)).status, 200);
    assert.equal((await http(`${w0}/health/live`)).status, 200);
    assert.equal((await http(`${w0}/metrics`)).status, 200);
    const vouched = await http(`${w0}/account/positions`, { headers: stack.workerHeaders });
    assert.equal(vouched.status, 200, 'the token opens it');
    const wrongProbe = await http(`${w0}/health/ready`, { headers: forged });
    assert.equal(wrongProbe.status, 401, 'an open path with a wrong token is refused too');
  });

  for (const [name, env, reason] of [
    [
      'given another token than the workers',
      { IBREST_INTERNAL_TOKEN: 'another-secret-'.repeat(3) },
      'proxy_token_refused',
    ],
    ['given no token while the workers require one', {}, 'proxy_token_missing'],
  ] as const) {
    test(`a proxy ${name} reports the workers down and why, and answers 503, never the workers' 401`, async () => {
      const misfit = startService({
        name: 'proxy-misfit',
        script: mainScript('@ibrest/proxy'),
        env: {
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: 'fatal',
          IB_MAINTENANCE_WINDOWS: 'none',
          WORKERS: stack.workers.map((w) => `${w.clientId}=${w.url}`).join(','),
          DATA_DIR: `${stack.dataDir}/proxy-misfit-${reason}`,
          ...env,
        },
      });
      try {
        const url = `http://127.0.0.1:${(await misfit.listening).port}`;
        const clients = await http(`${url}/clients`);
        assert.equal(clients.status, 200);
        assert.deepEqual(
          clients.body.clients.map((c: { up: boolean; state: string; lastError: { reason: string } | null }) => [
            c.up,
            c.state,
            c.lastError?.reason,
          ]),
          stack.workers.map(() => [false, reason, reason]),
        );
        assert.equal((await http(`${url}/health/ready`)).status, 503);
        const before = stack.sim.control.orders().length;
        const placed = await http(`${url}/order`, { method: 'POST', body: order(1) });
        assert.equal(placed.status, 503, JSON.stringify(placed.body));
        assert.equal(placed.body.error.code, 'ORDER_WORKER_UNAVAILABLE');
        const read = await http(`${url}/account/positions`);
        assert.equal(read.status, 503, JSON.stringify(read.body));
        assert.equal(stack.sim.control.orders().length, before, 'nothing reached IB');
      } finally {
        await misfit.stop();
      }
    });
  }
});
