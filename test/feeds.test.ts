import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, http } from './helpers/eventually.js';
import { openSse, type SseClient } from './helpers/sse.js';
import { startStack, type Stack } from './helpers/stack.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';

/**
 * Feeds end to end through the proxy: shared IB subscriptions, pool-wide line budgets, outages mid-stream,
 * and every feed group in SSE and Atom. The simulator logs in as an FA account so /financial has data.
 */
describe('feeds – SSE and Atom through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 3, sim: { faAccount: true }, proxyEnv: { MARKET_DATA_LINES: '3' } });
  });
  after(async () => {
    await stack?.stop();
  });

  const reqMktData = (symbol: string) =>
    stack.sim.control.received({ name: 'REQ_MKT_DATA' }).filter((m) => m.fields.includes(symbol));

  test('50 callers on one contract → one IB subscription; the last to leave cancels it', async () => {
    const before = reqMktData('MSFT').length;
    const callers: SseClient[] = await Promise.all(
      Array.from({ length: 50 }, () => openSse(`${stack.proxyUrl}/market/data?symbol=MSFT&secType=STK`)),
    );
    try {
      for (const c of callers) assert.equal(c.status, 200);
      await Promise.all(
        callers.map((c) =>
          c.next((e) => e.event === 'tick' || e.event === 'ticks' || e.event === 'snapshot' || e.event === 'state'),
        ),
      );
      assert.equal(reqMktData('MSFT').length - before, 1, 'one reqMktData for fifty callers');
      assert.equal(
        new Set(callers.map((c) => c.headers.get('x-ib-client-id'))).size,
        1,
        'all callers of one subscription on one worker',
      );
      assert.equal(stack.sim.control.activeMarketDataLines(), 1);
    } finally {
      for (const c of callers) c.close();
    }
    await eventually(() => assert.equal(stack.sim.control.activeMarketDataLines(), 0), 10_000);
    assert.ok(stack.sim.control.received({ name: 'CANCEL_MKT_DATA' }).length >= 1, 'the simulator saw the cancel');
  });

  test('line budget exhausted → 429 MARKET_DATA_LINES_EXHAUSTED before IB, zero error 101', async () => {
    stack.sim.control.resetViolations();
    const open = await Promise.all(
      ['AAPL', 'SPY', 'TSLA'].map((s) => openSse(`${stack.proxyUrl}/market/data?symbol=${s}&secType=STK`)),
    );
    try {
      for (const c of open) assert.equal(c.status, 200);
      const refused = await http(`${stack.proxyUrl}/market/data?symbol=IBM&secType=STK&format=sse`);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'MARKET_DATA_LINES_EXHAUSTED');
      assert.equal(refused.body.error.details.budget, 3);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(reqMktData('IBM').length, 0, 'the refused stream never reached IB');
      const clients = await http(`${stack.proxyUrl}/clients`);
      assert.equal(clients.body.budgets.marketDataLines.inUse, 3);
    } finally {
      for (const c of open) c.close();
    }
    assert.equal(stack.sim.control.violations().byCode['101'] ?? 0, 0);
    await eventually(
      async () => assert.equal((await http(`${stack.proxyUrl}/clients`)).body.budgets.marketDataLines.inUse, 0),
      10_000,
    );
  });

  test('gateway restart mid-stream: status events, then data resumes on the same stream', async () => {
    const stream = await openSse(`${stack.proxyUrl}/market/data?symbol=AAPL&secType=STK`);
    try {
      assert.equal(stream.status, 200);
      await stream.next((e) => e.event !== 'status');
      const restart = stack.sim.control.restart({ downMs: 1_500 });
      await stream.next((e) => e.event === 'status' && /degraded|disconnected/.test(e.data), 10_000);
      await restart;
      const restored = await stream.next((e) => e.event === 'status' && /restored/.test(e.data), 30_000);
      const at = stream.events.indexOf(restored);
      stack.sim.control.setPrice('AAPL', 201.25);
      await stream.next((e) => stream.events.indexOf(e) > at && e.event !== 'status', 15_000);
    } finally {
      stream.close();
    }
    // Leave every worker back in rotation for the tests that follow.
    await eventually(
      async () => {
        const { body } = await http(`${stack.proxyUrl}/clients`);
        assert.ok(
          body.clients.every((c: { up: boolean }) => c.up),
          JSON.stringify(body.clients.map((c: { state: string }) => c.state)),
        );
      },
      30_000,
      200,
    );
  });

  const groups: Array<[string, string]> = [
    ['market data', '/market/data?symbol=AAPL&secType=STK'],
    ['market depth', '/market/depth?symbol=AAPL&secType=STK&numRows=5'],
    ['real-time bars', '/bars?symbol=AAPL&secType=STK'],
    ['news bulletins', '/news'],
    ['market scanner', '/market/scanners?scanCode=TOP_PERC_GAIN'],
    ['fundamental data', '/fundamental?symbol=AAPL&secType=STK'],
    ['display groups', '/displaygroups?groupId=1'],
    ['financial advisor', '/financial?type=groups'],
  ];

  for (const [name, path] of groups) {
    test(`${name} – data as SSE and as an Atom document`, async () => {
      if (name === 'news bulletins')
        stack.sim.control.pushNewsBulletin({ message: 'Exchange notice for the test' } as never);
      if (name === 'real-time bars') setTimeout(() => stack.sim.control.emitRealTimeBars(), 200);
      const stream = await openSse(`${stack.proxyUrl}${path}`);
      try {
        if (stream.status !== 200)
          assert.fail(
            `${path} as SSE answered ${stream.status}: ` +
              `${JSON.stringify(await http(`${stack.proxyUrl}${path}`).then((r) => r.body))}`,
          );
        assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
        const first = await stream.next((e) => e.event !== 'status', 15_000);
        assert.ok(first.data.length > 0);
      } finally {
        stream.close();
      }
      const sep = path.includes('?') ? '&' : '?';
      const atom = await http<string>(`${stack.proxyUrl}${path}${sep}format=atom`);
      assert.equal(atom.status, 200, `${path} as Atom: ${String(atom.body).slice(0, 200)}`);
      assert.match(atom.headers.get('content-type') ?? '', /application\/atom\+xml/);
      assert.match(atom.body, new RegExp(`<feed[^>]*xmlns="${ATOM_NS.replace(/[./]/g, '\\$&')}"`));
      assert.match(atom.body, /<\/feed>\s*$/);
    });
  }
});
