import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { eventually, http } from './helpers/eventually.js';
import { openSse, type SseClient } from './helpers/sse.js';
import { startStack, type Stack } from './helpers/stack.js';

type Value = { value: number | string; currency: string };
type Values = Record<string, Value[]>;

const order = (account: string, symbol: string, qty: number) =>
  JSON.stringify({
    contract: { symbol, secType: 'STK', exchange: 'SMART', currency: 'USD' },
    order: { action: 'BUY', orderType: 'MKT', totalQuantity: qty, account },
  });

const parsed = (c: SseClient, event: string) =>
  c.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data));

/** The same tag in the same currency must be the same value in both answers. */
function assertAgree(updates: Values, summary: Values, tags: string[]): void {
  for (const tag of tags) {
    for (const s of summary[tag] ?? []) {
      const u = updates[tag]?.find((v) => v.currency === s.currency);
      assert.ok(u !== undefined, `${tag} in ${s.currency} is in /account/updates too`);
      assert.equal(u.value, s.value, `${tag} ${s.currency}: /account/updates and /account/summary agree`);
    }
  }
}

describe('data – an FA login: every account served and streamed through the proxy', () => {
  let stack: Stack;
  const ACCOUNTS = ['DU1234567', 'DU1234568'];
  before(async () => {
    // One worker: the order worker, which sees every client's executions (IB's Master API client).
    stack = await startStack({ workers: 1, sim: { faAccount: true, tickIntervalMs: 0 } });
  });
  after(async () => {
    await stack?.stop();
  });

  test('the mirror follows every managed account at once, without refusals', async () => {
    const list = await http(`${stack.proxyUrl}/accounts`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(
      list.body.accounts.map((a: { account: string }) => a.account),
      ['DF1234567', ...ACCOUNTS],
    );
    assert.equal(list.body.accounts[0].advisor, true);
    assert.equal(list.body.default, undefined, 'several accounts: no default');
    // One reqAccountUpdatesMulti per managed account; never the single-account reqAccountUpdates.
    const multi = stack.sim.control.received({ msgId: 76 }).map((m) => m.fields[2]);
    for (const a of ['DF1234567', ...ACCOUNTS]) assert.ok(multi.includes(a), `values of ${a} followed (${multi})`);
    assert.equal(stack.sim.control.received({ msgId: 6 }).length, 0, 'no reqAccountUpdates (one account at a time)');
    await eventually(async () => {
      const l = await http(`${stack.proxyUrl}/accounts`);
      assert.ok(
        l.body.accounts.every((a: { synced: boolean }) => a.synced),
        JSON.stringify(l.body),
      );
    });
  });

  test("each account's values, positions and PnL, addressed with ?account=", async () => {
    const none = await http(`${stack.proxyUrl}/account/updates`);
    assert.equal(none.status, 400);
    assert.equal(none.body.error.code, 'ACCOUNT_REQUIRED');
    assert.deepEqual(none.body.error.details.managed, ACCOUNTS);
    const unknown = await http(`${stack.proxyUrl}/account/pnl?account=DU9999999`);
    assert.equal(unknown.status, 404);

    const positions = await http(`${stack.proxyUrl}/account/positions`);
    assert.equal(positions.status, 200);
    const held = new Set(positions.body.positions.map((p: { account: string }) => p.account));
    for (const a of ACCOUNTS) assert.ok(held.has(a), `positions of ${a} listed for the whole login`);

    for (const account of ACCOUNTS) {
      const u = await http(`${stack.proxyUrl}/account/updates?account=${account}`);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.account, account);
      const netLiq = u.body.values.NetLiquidation.find((v: Value) => v.currency === 'USD');
      assert.equal(typeof netLiq.value, 'number', 'a number where IB means a number');
      const simPositions = stack.sim.control.positions().filter((p) => p.account === account && p.quantity !== 0);
      assert.deepEqual(
        u.body.portfolio.map((p: { contract: { conId: number } }) => p.contract.conId).sort(),
        simPositions.map((p) => p.conId).sort(),
        `the portfolio of ${account} is its positions at the simulator`,
      );
      const pnl = await eventually(async () => {
        const r = await http(`${stack.proxyUrl}/account/pnl?account=${account}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.positions.length, simPositions.length, 'PnL of every position (reqPnLSingle)');
        return r.body;
      });
      assert.equal(pnl.account, account);
      assert.equal(typeof pnl.unrealizedPnL, 'number');
      assert.equal(typeof pnl.positions[0].unrealizedPnL, 'number');
      assert.match(pnl.updatedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  test('$LEDGER:ALL gives every currency, and /account/summary agrees with /account/updates', async () => {
    const sum = await http(`${stack.proxyUrl}/account/summary?tags=$LEDGER:ALL,NetLiquidation`);
    assert.equal(sum.status, 200, JSON.stringify(sum.body));
    const eur = sum.body.accounts.DU1234568 as Values;
    const currencies = eur.CashBalance!.map((v) => v.currency).sort();
    assert.deepEqual(currencies, ['BASE', 'EUR', 'USD'], 'one CashBalance per currency, none overwritten');
    assert.equal(eur.CashBalance!.find((v) => v.currency === 'EUR')!.value, 20000);
    assert.deepEqual(Object.keys(sum.body.accounts).sort(), ACCOUNTS, 'every account of the group "All"');
    const upd = await http(`${stack.proxyUrl}/account/updates?account=DU1234568`);
    assertAgree(upd.body.values, eur, ['CashBalance', 'TotalCashBalance', 'ExchangeRate', 'NetLiquidation']);
    const only = await http(`${stack.proxyUrl}/account/summary?tags=NetLiquidation&account=DU1234567`);
    assert.deepEqual(Object.keys(only.body.accounts), ['DU1234567']);
  });

  const streamsTitle =
    'positions, values, PnL and executions stream: one event per change, Last-Event-ID resume, status through outages';
  test(streamsTitle, async () => {
    const positions = await openSse(`${stack.proxyUrl}/account/positions?format=sse`);
    const values = await openSse(`${stack.proxyUrl}/account/updates?account=DU1234568&format=sse`);
    const pnl = await openSse(`${stack.proxyUrl}/account/pnl?format=sse`);
    const executions = await openSse(`${stack.proxyUrl}/executions?format=sse`);
    try {
      for (const s of [positions, values, pnl, executions]) assert.equal(s.status, 200);
      // The current state first: a position event per held position of each account.
      await positions.next((e) => e.event === 'position' && JSON.parse(e.data).account === 'DU1234568');
      await values.next((e) => e.event === 'value' && JSON.parse(e.data).tag === 'NetLiquidation');
      assert.ok(
        parsed(values, 'value').every((v) => v.account === 'DU1234568'),
        'only the account asked for',
      );
      const seenValues = new Set(parsed(values, 'value').map((v) => `${v.tag}|${v.currency}`));
      assert.equal(seenValues.size, parsed(values, 'value').length, 'each value once');

      const placed = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: order('DU1234568', 'IBM', 7) });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      const pos = await positions.next((e) => e.event === 'position' && JSON.parse(e.data).contract.symbol === 'IBM');
      assert.equal(JSON.parse(pos.data).account, 'DU1234568');
      assert.equal(JSON.parse(pos.data).pos, 7);
      const exec = await executions.next(
        (e) => e.event === 'commission' && JSON.parse(e.data).contract.symbol === 'IBM',
      );
      const withCommission = JSON.parse(exec.data);
      assert.equal(withCommission.execution.acctNumber, 'DU1234568');
      assert.equal(typeof withCommission.commissionReport.commission, 'number');
      assert.match(withCommission.execution.isoTime, /^\d{4}-\d{2}-\d{2}T.*Z$/, "ISO 8601 beside IB's own time");
      await pnl.next((e) => e.event === 'positionPnl' && JSON.parse(e.data).account === 'DU1234568');
      // One event per change: the fill changed IBM's position once.
      const ibm = parsed(positions, 'position').filter((p) => p.contract.symbol === 'IBM');
      assert.equal(ibm.length, 1, 'one position event for one change');

      // Resume: events after the last id seen, none repeated.
      const lastId = positions.events.filter((e) => e.id !== undefined).at(-1)!.id!;
      positions.close();
      const more = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: order('DU1234567', 'TSLA', 3) });
      assert.equal(more.status, 201);
      await executions.next((e) => e.event === 'commission' && JSON.parse(e.data).contract.symbol === 'TSLA');
      const resumed = await openSse(`${stack.proxyUrl}/account/positions?format=sse`, { 'last-event-id': lastId });
      try {
        const tsla = await resumed.next((e) => e.event === 'position');
        assert.equal(JSON.parse(tsla.data).contract.symbol, 'TSLA', 'only what happened after Last-Event-ID');
        const seq = (id: string) => Number(id.split('.').at(-1));
        assert.ok(seq(tsla.id!) > seq(lastId), `${tsla.id} after ${lastId}`);
        assert.equal(resumed.events.filter((e) => e.event === 'position').length, 1, 'nothing before it repeated');
      } finally {
        resumed.close();
      }

      // An IB outage: degraded, then restored, once each.
      stack.sim.control.sendNotice(1100);
      await values.next((e) => e.event === 'status' && JSON.parse(e.data).state === 'degraded');
      stack.sim.control.sendNotice(1101);
      await values.next((e) => e.event === 'status' && JSON.parse(e.data).state === 'restored');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(parsed(values, 'status').filter((s) => s.state === 'restored').length, 1, 'one restored event');
    } finally {
      for (const s of [positions, values, pnl, executions]) s.close();
    }
  });
});

describe('data – an FA login with 60 sub-accounts: positions per account (reqPositionsMulti)', () => {
  const ACCOUNTS = Array.from({ length: 60 }, (_, i) => `DU${2_000_000 + i}`);
  let stack: Stack;
  before(async () => {
    const accounts = ACCOUNTS.map((id, i) => ({
      id,
      cash: 10_000,
      positions: [{ symbol: 'AAPL', quantity: i + 1, avgPrice: 150 }],
    }));
    stack = await startStack({ workers: 1, sim: { faAccount: true, accounts, tickIntervalMs: 0 } });
  });
  after(async () => {
    await stack?.stop();
  });

  test("every sub-account's positions, kept live, without reqPositions (IB does not serve it beyond 50)", async () => {
    const all = await eventually(async () => {
      const r = await http(`${stack.proxyUrl}/account/positions`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const held = new Set(r.body.positions.map((p: { account: string }) => p.account));
      assert.deepEqual([...held].sort(), [...ACCOUNTS].sort());
      return r.body.positions as Array<{ account: string; pos: number }>;
    }, 30_000);
    for (const [i, account] of ACCOUNTS.entries()) {
      const held = all.filter((p) => p.account === account).map((p) => p.pos);
      assert.deepEqual(held, [i + 1], `${account} holds what the simulator holds`);
    }
    assert.equal(stack.sim.control.received({ msgId: 61 }).length, 0, 'no reqPositions');
    const multi = stack.sim.control.received({ msgId: 74 }).map((m) => m.fields[2]);
    for (const a of ACCOUNTS) assert.ok(multi.includes(a), `reqPositionsMulti for ${a}`);
    assert.deepEqual(stack.sim.control.violations().byCode, {}, 'IB refused nothing');
    // A fill in one sub-account reaches the mirror through that account's subscription.
    const placed = await http(`${stack.proxyUrl}/order`, { method: 'POST', body: order(ACCOUNTS[41]!, 'AAPL', 5) });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await eventually(async () => {
      const r = await http(`${stack.proxyUrl}/account/positions?account=${ACCOUNTS[41]}`);
      assert.deepEqual(
        r.body.positions.map((p: { pos: number }) => p.pos),
        [42 + 5],
      );
    });
  });
});

describe('data – a normal login, contracts and books through the proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ workers: 2, sim: { tickIntervalMs: 0 } });
  });
  after(async () => {
    await stack?.stop();
  });

  test('the only account is the default; $LEDGER:ALL per currency; PnL per position', async () => {
    const u = await http(`${stack.proxyUrl}/account/updates`);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.equal(u.body.account, 'DU1234567');
    const atom = await fetch(`${stack.proxyUrl}/account/positions?format=atom`);
    assert.equal(atom.status, 200);
    assert.match(atom.headers.get('content-type') ?? '', /application\/atom\+xml/);
    assert.match(await atom.text(), /<category term="position"\/>[\s\S]*AAPL/, 'the positions as an Atom feed');
    const sum = await http(`${stack.proxyUrl}/account/summary?tags=$LEDGER:ALL`);
    const ledger = sum.body.accounts.DU1234567 as Values;
    assert.deepEqual(ledger.CashBalance!.map((v) => v.currency).sort(), ['BASE', 'USD']);
    const pnl = await eventually(async () => {
      const r = await http(`${stack.proxyUrl}/account/pnl`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.positions.length, 1);
      return r.body;
    });
    assert.equal(pnl.account, 'DU1234567');
  });

  test("historical: trading days only, ISO times beside IB's, ticks of each kind, bars kept up to date", async () => {
    const daily = await http(`${stack.proxyUrl}/historical?symbol=IBM&durationStr=10%20D&barSizeSetting=1%20day`);
    assert.equal(daily.status, 200, JSON.stringify(daily.body));
    assert.equal(daily.body.bars.length, 10, 'ten trading days');
    for (const bar of daily.body.bars as Array<{ time: string; ibTime: string }>) {
      assert.equal(bar.time.replace(/-/g, ''), bar.ibTime, "the ISO date beside IB's yyyyMMdd");
      assert.ok(![0, 6].includes(new Date(`${bar.time}T12:00:00Z`).getUTCDay()), `${bar.time} is a weekday`);
    }
    const iso = new Date(Date.now() - 60_000).toISOString();
    const end = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19)}`;
    for (const what of ['TRADES', 'BID_ASK', 'MIDPOINT']) {
      const q = `symbol=IBM&endDateTime=${end}&numberOfTicks=20&whatToShow=${what}`;
      const r = await http(`${stack.proxyUrl}/historical/ticks?${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.ticks.length > 0 && r.body.ticks.length <= 20);
      assert.match(r.body.ticks[0].time, /Z$/);
    }
    const live = await openSse(
      `${stack.proxyUrl}/historical?symbol=IBM&durationStr=2%20D&barSizeSetting=1%20hour&keepUpToDate=true&format=sse`,
    );
    try {
      assert.equal(live.status, 200);
      await live.next((e) => e.event === 'loaded');
      stack.sim.control.setPrice('IBM', 184.11);
      const update = await live.next((e) => e.event === 'bar' && JSON.parse(e.data).update === true);
      assert.equal(JSON.parse(update.data).close, 184.11);
    } finally {
      live.close();
    }
  });

  test('a partial futures contract lists its chain', async () => {
    const chain = await http(`${stack.proxyUrl}/contract?symbol=ES&secType=FUT&exchange=CME&limit=2`);
    assert.equal(chain.status, 200, JSON.stringify(chain.body));
    assert.equal(chain.body.contracts.length, 2);
    assert.ok(chain.body.total >= 4);
    const rest = await http(`${stack.proxyUrl}/contract?symbol=ES&secType=FUT&exchange=CME&limit=100&offset=2`);
    const expiries = [...chain.body.contracts, ...rest.body.contracts].map(
      (d: { contract: { lastTradeDateOrContractMonth: string } }) => d.contract.lastTradeDateOrContractMonth,
    );
    assert.equal(expiries.length, chain.body.total);
    assert.deepEqual(expiries, [...new Set(expiries)].sort(), 'distinct expiries in order');
  });

  test('books are complete, sorted and uncrossed, one-shot and streamed, whatever the prices do', async () => {
    const sorted = (book: { bids: { price: number }[]; asks: { price: number }[] }) => {
      for (let i = 1; i < book.bids.length; i++)
        assert.ok(book.bids[i]!.price <= book.bids[i - 1]!.price, 'bids falling');
      for (let i = 1; i < book.asks.length; i++)
        assert.ok(book.asks[i]!.price >= book.asks[i - 1]!.price, 'asks rising');
      assert.ok(
        book.bids[0]!.price < book.asks[0]!.price,
        `uncrossed: ${book.bids[0]!.price} < ${book.asks[0]!.price}`,
      );
    };
    const stream = await openSse(`${stack.proxyUrl}/market/depth?symbol=MSFT&exchange=ISLAND&numRows=8&format=sse`);
    try {
      assert.equal(stream.status, 200);
      await stream.next((e) => e.event === 'book');
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.double({ min: 0.8, max: 1.25, noNaN: true }), { minLength: 1, maxLength: 6 }),
          async (moves) => {
            for (const m of moves) stack.sim.control.setPrice('MSFT', Number((410 * m).toFixed(2)));
            const expected = stack.sim.control.quote('MSFT')!;
            const last = await stream.next(
              (e) => e.event === 'book' && JSON.parse(e.data).bids[0]?.price === expected.bid,
              5000,
            );
            const book = JSON.parse(last.data);
            assert.equal(book.complete, true);
            assert.equal(book.bids.length, 8);
            assert.equal(book.asks.length, 8);
          },
        ),
        { numRuns: 25 },
      );
      const books = parsed(stream, 'book');
      for (const b of books) sorted(b);
      assert.ok(books.every((b) => b.crossed === false));
    } finally {
      stream.close();
    }
    for (const symbol of ['AAPL', 'IBM', 'TSLA', 'AAPL', 'IBM']) {
      const exchange = symbol === 'IBM' ? 'NYSE' : 'ISLAND';
      const one = await http(`${stack.proxyUrl}/market/depth?symbol=${symbol}&exchange=${exchange}&numRows=5`);
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.complete, true, 'the one-shot book waits for every row asked for');
      assert.equal(one.body.partial, false);
      assert.equal(one.body.bids.length, 5);
      assert.equal(one.body.asks.length, 5);
      sorted(one.body);
    }
  });
});
