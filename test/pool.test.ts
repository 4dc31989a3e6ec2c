import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, http } from './helpers/eventually.js';
import { startStack, type Stack } from './helpers/stack.js';

const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const SYMBOLS = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM'];
const mktOrder = (qty: number) => ({ contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: qty } });

/**
 * The pool end to end: the real simulator, eight real worker processes and the real proxy process.
 * Tests in this file share one stack and run in order; each leaves every worker up and ready.
 */
describe('pool – proxy in front of eight workers', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const clients = async () =>
    (await http<{ clients: Array<{ clientId: number; up: boolean }> }>(`${stack.proxyUrl}/clients`)).body;
  const upIds = async () =>
    (await clients()).clients
      .filter((w) => w.up)
      .map((w) => w.clientId)
      .sort();

  test('orders land on clientId 0: the simulator confirms the placing clientId', async () => {
    const res = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: JSON.stringify(mktOrder(5)) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ib-client-id'), '0');
    assert.equal(res.body.clientId, 0);
    const simOrder = stack.sim.control
      .orders()
      .find((o) => o.orderId === res.body.orderId && o.permId === res.body.permId);
    assert.ok(simOrder, 'the simulator holds the order');
    assert.equal(simOrder.clientId, 0);
    // Reads of orders are order operations too: pinned to worker 0.
    const list = await http(`${stack.proxyUrl}/order`);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-ib-client-id'), '0');
  });

  test('reads spread over workers 1–7', async () => {
    const served = await Promise.all(
      Array.from({ length: 140 }, async () => {
        const res = await http(`${stack.proxyUrl}/account/positions`);
        assert.equal(res.status, 200);
        return Number(res.headers.get('x-ib-client-id'));
      }),
    );
    const distinct = new Set(served);
    assert.ok(!distinct.has(0), 'worker 0 is kept for orders while others are up');
    assert.ok(distinct.size >= 5, `reads spread over several workers, got ${[...distinct].join(',')}`);
  });

  test('a killed worker leaves rotation with no failed idempotent read, and returns after restart', async () => {
    const victim = stack.workers[3]!;
    await victim.kill();
    const statuses = await Promise.all(
      Array.from({ length: 60 }, () => http(`${stack.proxyUrl}/account/positions`).then((r) => r.status)),
    );
    assert.deepEqual([...new Set(statuses)], [200], 'every read succeeded while worker 3 died');
    await eventually(async () => assert.ok(!(await upIds()).includes(3)), 10_000);
    await victim.restart();
    await eventually(async () => assert.ok((await upIds()).includes(3)), 20_000);
    await eventually(async () => {
      const ids = await Promise.all(
        Array.from({ length: 40 }, () =>
          http(`${stack.proxyUrl}/account/positions`).then((r) => r.headers.get('x-ib-client-id')),
        ),
      );
      assert.ok(ids.includes('3'), 'worker 3 serves again');
    }, 10_000);
  });

  test('worker 0 down: order operations get 503 ORDER_WORKER_UNAVAILABLE at once, reads keep working', async () => {
    const w0 = stack.workers[0]!;
    await w0.kill();
    const started = Date.now();
    const res = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: JSON.stringify(mktOrder(1)) });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'ORDER_WORKER_UNAVAILABLE');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.ok(Date.now() - started < 2_000, 'answered fast, not after a timeout');
    const before = stack.sim.control.orders().length;
    const read = await http(`${stack.proxyUrl}/account/positions`);
    assert.equal(read.status, 200);
    await w0.restart();
    await eventually(async () => assert.ok((await upIds()).includes(0)), 20_000);
    const again = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: JSON.stringify(mktOrder(1)) });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(
      stack.sim.control.orders().length,
      before + 1,
      'the refused order never reached IB; the later one did once',
    );
  });

  test('eight workers driven hard together cause zero pacing violations at the simulator', async () => {
    stack.sim.control.resetViolations();
    const requests = Array.from({ length: 400 }, (_, i) => {
      const symbol = SYMBOLS[i % SYMBOLS.length]!;
      return i % 2 === 0
        ? `${stack.proxyUrl}/market/data?symbol=${symbol}&secType=STK&exchange=SMART&currency=USD`
        : `${stack.proxyUrl}/contract?symbol=${symbol}&secType=STK&exchange=SMART&currency=USD`;
    });
    const statuses = await Promise.all(requests.map((url) => http(url).then((r) => r.status)));
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(
      statuses.every((s) => s === 200 || s === 429),
      `only 200 or 429, got ${[...new Set(statuses)].join(',')}`,
    );
    assert.ok(ok >= 200, `most requests served, got ${ok}`);
    assert.deepEqual(stack.sim.control.violations().byCode, {}, 'no error 100/101/162 at the simulator');
  });

  test('app metrics of the proxy and a worker pass promtool check metrics', async (t) => {
    const { execFileSync, spawnSync } = await import('node:child_process');
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('promtool is not installed (Debian package prometheus)');
      return;
    }
    for (const [url, prefix] of [
      [`${stack.proxyUrl}/metrics`, 'ibproxy_'],
      [`${stack.workers[1]!.url}/metrics`, 'ibworker_'],
    ] as const) {
      const text = (await http<string>(url)).body;
      assert.match(text, new RegExp(`^# TYPE ${prefix}`, 'm'));
      // Lint only our own families: prom-client's defaults carry three gauges named *_total (a known promtool
      // complaint).
      const own =
        text
          .split('\n')
          .filter((l) => l.includes(prefix))
          .join('\n') + '\n';
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: own, encoding: 'utf8' });
      assert.equal(lint.status, 0, `${prefix}: ${lint.stdout}${lint.stderr}`);
    }
  });

  test('gateway restart: 503 with Retry-After during the outage, then recovery with nothing restarted', async () => {
    const CONTRACT = `${stack.proxyUrl}/contract?symbol=AAPL&secType=STK&exchange=SMART&currency=USD`;
    const restart = stack.sim.control.restart({ downMs: 3_000 });
    const during = await eventually(
      async () => {
        const res = await http(CONTRACT);
        assert.equal(res.status, 503);
        return res;
      },
      5_000,
      20,
    );
    assert.ok(Number(during.headers.get('retry-after')) >= 1, 'Retry-After on the 503');
    assert.ok(typeof during.body.error.code === 'string');
    // Mirror reads keep answering from the last state, and say how old it is.
    const stale = await eventually(
      async () => {
        const res = await http(`${stack.proxyUrl}/account/positions`);
        assert.equal(res.status, 200);
        assert.ok(res.headers.get('x-ibrest-mirror-age') !== null, 'served while the link is down');
        return res;
      },
      5_000,
      20,
    );
    assert.ok(Number(stale.headers.get('x-ibrest-mirror-age')) >= 0);
    await restart;
    await eventually(
      async () => {
        const res = await http(`${stack.proxyUrl}/account/positions`);
        assert.equal(res.status, 200);
      },
      30_000,
      200,
    );
    await eventually(async () => assert.deepEqual(await upIds(), [0, 1, 2, 3, 4, 5, 6, 7]), 30_000, 200);
    const order = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: JSON.stringify(mktOrder(2)) });
    assert.equal(order.status, 201, JSON.stringify(order.body));
  });
});
