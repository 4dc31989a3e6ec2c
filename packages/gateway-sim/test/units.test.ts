import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contractData } from '../src/encode/contracts.js';
import { errMsg } from '../src/encode/connection.js';
import { executionData } from '../src/encode/executions.js';
import { openOrder, orderStatus } from '../src/encode/orders.js';
import { Engine } from '../src/engine/engine.js';
import { ManualClock } from '../src/engine/clock.js';
import { HistoricalPacer } from '../src/limits/historical-pacing.js';
import { ArrivalClock, MessageRateLimiter } from '../src/limits/msg-rate.js';
import { encodeFrame, InboundParser, parseVersionRange } from '../src/wire/framing.js';

const clock = new ManualClock(Date.UTC(2026, 0, 5, 15, 0, 0));

function filledOrder(engine: Engine) {
  engine.orders.setFillNext({ price: 190 });
  const res = engine.orders.place(
    1,
    {
      orderId: 1,
      action: 'BUY',
      totalQuantity: 5,
      orderType: 'MKT',
      tif: 'DAY',
      ocaGroup: '',
      ocaType: 0,
      account: '',
      orderRef: 'r1',
      transmit: true,
      parentId: 0,
      outsideRth: false,
    },
    engine.catalogue.bySymbol('AAPL')!,
  );
  assert.ok(res.ok);
  return res.order;
}

describe('encoders – field counts per server version (IB layouts, message id included)', () => {
  const engine = new Engine({ seed: 1, clock });
  const order = filledOrder(engine);
  const exec = engine.orders.execs()[0]!;
  const aapl = engine.catalogue.bySymbol('AAPL')!;
  const table: Array<[number, number, number, number, number]> = [
    // sv, OPEN_ORDER, CONTRACT_DATA (1 secId), EXECUTION_DATA, ERR_MSG
    [164, 123, 42, 31, 5],
    [176, 128, 42, 31, 6],
    [193, 133, 44, 32, 6],
  ];
  for (const [sv, oo, cd, ex, err] of table) {
    it(`server version ${sv}`, () => {
      assert.equal(openOrder(sv, order).length, oo);
      assert.equal(contractData(sv, 1, aapl).length, cd);
      assert.equal(executionData(sv, -1, exec).length, ex);
      assert.equal(errMsg(sv, -1, 2104, 'x').length, err);
      assert.equal(orderStatus(order).length, 12);
    });
  }
});

describe('framing', () => {
  it('InboundParser – handshake and frames in arbitrary chunks', () => {
    const v = Buffer.from('v100..193 +PACEAPI');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    const bytes = Buffer.concat([Buffer.from('API\0'), len, v, encodeFrame([71, 2, 7, '']), encodeFrame([49, 1])]);
    const p = new InboundParser();
    const events = [];
    for (let i = 0; i < bytes.length; i += 3) events.push(...p.push(bytes.subarray(i, i + 3)));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['handshake', 'message', 'message'],
    );
    assert.deepEqual(parseVersionRange((events[0] as { versions: string }).versions), { min: 100, max: 193 });
    assert.deepEqual((events[1] as { fields: string[] }).fields, ['71', '2', '7', '']);
  });

  it('InboundParser – rejects a bad magic at once and an oversized frame from its header', () => {
    assert.equal(new InboundParser().push(Buffer.from('X'))[0]?.kind, 'fatal');
    const p = new InboundParser(1024);
    const v = Buffer.from('v100..193');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    p.push(Buffer.concat([Buffer.from('API\0'), len, v]));
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32BE(4096);
    const ev = p.push(hdr);
    assert.equal(ev[0]?.kind, 'fatal');
  });
});

describe('limits', () => {
  it('MessageRateLimiter – one violation per window, strikes accumulate, combined mode shares the window', () => {
    const r = new MessageRateLimiter(50, 'per-client');
    let v;
    for (let i = 0; i < 55; i++) v = r.hit(1, 1000);
    assert.equal(v!.strikes, 1);
    assert.equal(r.hit(2, 1000).violated, false);
    for (let i = 0; i < 51; i++) v = r.hit(1, 2500);
    assert.equal(v!.strikes, 2);
    const c = new MessageRateLimiter(50, 'combined');
    for (let i = 0; i < 50; i++) c.hit(i % 5, 1000);
    assert.equal(c.hit(9, 1000).violated, true);
  });

  it("ArrivalClock: reads after the simulator's own stall are spread across it; real bursts still show", async () => {
    let now = 10_000;
    const arrivals = new ArrivalClock(60_000, 50, () => now);
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    try {
      // Eight clients at 5 msg/s each: one message every 25 ms, 40 a second, under IB's 50.
      const spread = new MessageRateLimiter(50, 'combined');
      const atRead = new MessageRateLimiter(50, 'combined');
      const errors = { spread: 0, atRead: 0 };
      const stamps: number[] = [];
      const read = () => {
        if (atRead.hit(1, now).violated) errors.atRead++;
        arrivals.stamp((at) => {
          stamps.push(at);
          if (spread.hit(1, at).violated) errors.spread++;
        });
      };
      const steady = async (ms: number) => {
        for (const end = now + ms; now < end;) {
          now += 25;
          arrivals.tick();
          read();
          await turn();
        }
      };
      await steady(1_000);
      // The loop stalls for 400 ms; the 16 messages sent meanwhile are read in one turn.
      now += 400;
      for (let i = 0; i < 16; i++) read();
      assert.equal(stamps.length, 40, 'the burst is counted after the turn');
      await turn();
      assert.deepEqual(stamps.slice(40, 42), [11_025, 11_050], 'spread across the stall in read order');
      assert.equal(stamps.at(-1), 11_400, 'the last when it was read');
      await steady(1_000);
      assert.equal(errors.atRead, 1, 'stamped when read, the burst and the next second make 55 in one second');
      assert.equal(errors.spread, 0, 'spread across the stall: 40 a second, as sent');
      // A client that sends 60 at once shows as a burst even when it lands in a stall.
      const burst = new MessageRateLimiter(50, 'combined');
      now += 300;
      let burstErrors = 0;
      for (let i = 0; i < 60; i++) arrivals.stamp((at) => void (burst.hit(1, at).violated && burstErrors++));
      await turn();
      assert.equal(burstErrors, 1, 'one error 100');
    } finally {
      arrivals.close();
    }
  });

  it('HistoricalPacer – 15 s identical, 6 per contract in 2 s, 60 in 10 min, BID_ASK double', () => {
    const p = new HistoricalPacer();
    const k = {
      conId: 1,
      exchange: 'SMART',
      whatToShow: 'TRADES',
      endDateTime: '',
      duration: '1 D',
      barSize: '1 hour',
      useRTH: true,
    };
    assert.equal(p.check(k, 0), undefined);
    assert.match(p.check(k, 14_000)!, /identical/);
    assert.equal(p.check(k, 15_001), undefined);
    for (let i = 0; i < 5; i++) assert.equal(p.check({ ...k, duration: `${i + 2} D` }, 20_000), undefined);
    assert.match(p.check({ ...k, duration: '9 D' }, 20_500)!, /six or more/);
    const q = new HistoricalPacer();
    for (let i = 0; i < 30; i++) assert.equal(q.check({ ...k, conId: i, whatToShow: 'BID_ASK' }, i * 5000), undefined);
    assert.match(q.check({ ...k, conId: 99 }, 151_000)!, /60 requests/);
  });
});

describe('engine', () => {
  it('is deterministic for a seed and fills a resting LMT when the price crosses', () => {
    const a = new Engine({ seed: 42, clock });
    const b = new Engine({ seed: 42, clock });
    a.market.step();
    b.market.step();
    assert.deepEqual(a.market.quote(265598), b.market.quote(265598));
    const msft = a.catalogue.bySymbol('MSFT')!;
    const res = a.orders.place(
      3,
      {
        orderId: 7,
        action: 'BUY',
        totalQuantity: 2,
        orderType: 'LMT',
        lmtPrice: 400,
        tif: 'DAY',
        ocaGroup: '',
        ocaType: 0,
        account: '',
        orderRef: '',
        transmit: true,
        parentId: 0,
        outsideRth: false,
      },
      msft,
    );
    assert.ok(res.ok && res.order.status === 'Submitted');
    a.market.setPrice(msft.conId, 399);
    assert.equal(res.order.status, 'Filled');
    assert.equal(res.order.avgFillPrice, 399.01);
    assert.equal(a.accounts.get('DU1234567')!.positions.get(msft.conId)!.quantity, 2);
  });
});
