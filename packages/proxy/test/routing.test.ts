import assert from 'node:assert/strict';
import http from 'node:http';
import { ROUTES } from '@ibrest/contract';
import { after, before, describe, it } from 'node:test';
import { eventually, request, startStack, type Stack } from './helpers.js';

describe('router – order operations are pinned to clientId 0', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(4);
  });
  after(() => stack.close());

  const cases: Array<[string, string]> = [
    ['GET', '/order'],
    ['POST', '/order'],
    ['PUT', '/order/17'],
    ['DELETE', '/order/17'],
    ['DELETE', '/order?orderId=17'],
    ['GET', '/executions'],
    ['POST', '/order/whatif'],
    ['GET', '/order/events?since=3'],
    ['POST', '/Order'],
    ['POST', '//order/'],
    ['POST', '/%6Frder'],
    ['POST', '/account/../order'],
  ];
  for (const [method, path] of cases) {
    it(`${method} ${path} → worker 0`, async () => {
      const r = await request(stack.url + path, {
        method,
        body: method === 'GET' ? undefined : '{"a":1}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200);
      assert.equal(r.json.clientId, 0);
      assert.equal(r.headers['x-ib-client-id'], '0');
    });
  }

  it('POST /order forwards the body intact and a chunked body with an exact length', async () => {
    const body = JSON.stringify({ contract: { symbol: 'AAPL' }, order: { action: 'BUY', totalQuantity: 10 } });
    const r = await new Promise<{ clientId: number; body: string; headers: http.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const req = http.request(
          stack.url + '/order',
          { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve(JSON.parse(text)));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 10));
        req.end(body.slice(10));
      },
    );
    assert.equal(r.clientId, 0);
    assert.equal(r.body, body);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(r.headers['transfer-encoding'], undefined);
  });

  it('every forwarded manifest route lands where its target says: order → worker 0, else a read worker', async () => {
    for (const e of ROUTES.filter((r) => r.owner === 'worker' && r.target !== 'local')) {
      const path = e.path.replace(/:(\w+)/g, '1');
      const body = e.method === 'GET' ? undefined : '{}';
      const headers = { 'content-type': 'application/json' };
      const r = await request(stack.url + path, { method: e.method, body, headers });
      assert.equal(r.status, 200, `${e.id}: ${e.method} ${path}`);
      if (e.target === 'order') assert.equal(r.json.clientId, 0, `${e.id} is served by the order worker`);
      else assert.notEqual(r.json.clientId, 0, `${e.id} is not sent to the order worker`);
    }
  });

  it('a method the path lacks → 405 with Allow (manifest); an unknown path → 404; neither forwarded', async () => {
    const before = stack.stubs.reduce((n, s) => n + s.requests.length, 0);
    const patch = await request(stack.url + '/order/17', { method: 'PATCH', body: '{}' });
    assert.equal(patch.status, 405);
    assert.equal(patch.json.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal(patch.headers.allow, 'GET, HEAD, PUT, DELETE');
    const post = await request(stack.url + '/executions', { method: 'POST', body: '{}' });
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD']);
    const clients = await request(stack.url + '/clients', { method: 'DELETE' });
    assert.deepEqual([clients.status, clients.headers.allow], [405, 'GET, HEAD']);
    const unknown = await request(stack.url + '/account/list');
    assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'ROUTE_NOT_FOUND']);
    assert.equal(
      stack.stubs.reduce((n, s) => n + s.requests.length, 0),
      before,
    );
  });

  it('reads never go to worker 0 while other workers are up', async () => {
    const served = await Promise.all(Array.from({ length: 12 }, () => request(stack.url + '/account/positions')));
    for (const r of served) {
      assert.equal(r.status, 200);
      assert.notEqual(r.json.clientId, 0);
      assert.equal(r.headers['x-ib-client-id'], String(r.json.clientId));
    }
  });

  it('X-Request-Id is propagated to the worker and back, or generated', async () => {
    const given = await request(stack.url + '/contract?symbol=AAPL', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers['x-request-id'], 'abc-123');
    assert.equal(given.json.headers['x-request-id'], 'abc-123');
    const generated = await request(stack.url + '/contract?symbol=AAPL', {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(generated.json.headers['x-request-id'], generated.headers['x-request-id']);
  });

  it('GET /clients lists every worker with its state and in-flight count', async () => {
    const r = await request(stack.url + '/clients');
    assert.equal(r.status, 200);
    assert.equal(r.json.ready, true);
    assert.deepEqual(
      r.json.clients.map((c: { clientId: number }) => c.clientId),
      [0, 1, 2, 3],
    );
    for (const c of r.json.clients) {
      assert.equal(c.up, true);
      assert.equal(c.state, 'ready');
      assert.equal(c.inFlight, 0);
      assert.equal(c.url, stack.stubs[c.clientId]!.url);
      assert.ok('lastError' in c);
      assert.equal(c.ibClientId, c.clientId);
    }
  });

  it('GET /clients says when a worker runs on a spare IB clientId (lease)', async () => {
    stack.stubs[2]!.readyReport = { clientId: 10, configuredClientId: 2, lease: 'spare' };
    try {
      const w2 = await eventually(
        async () => {
          const r = await request(stack.url + '/clients');
          const w = r.json.clients.find((c: { clientId: number }) => c.clientId === 2);
          return w.ibClientId === 10 ? w : undefined;
        },
        5000,
        'the probe reporting the spare clientId',
      );
      assert.equal(w2.lease, 'spare');
    } finally {
      stack.stubs[2]!.readyReport = {};
    }
  });

  it('GET /health/live and /health/ready answer from the proxy itself', async () => {
    assert.equal((await request(stack.url + '/health/live')).status, 200);
    const ready = await request(stack.url + '/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
    assert.equal(
      stack.stubs.reduce((n, s) => n + s.requests.filter((q) => q.url.startsWith('/health')).length, 0),
      0,
    );
  });
});
