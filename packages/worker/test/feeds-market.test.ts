import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, http, startStack, type Stack } from './helpers.js';
import { SseClient } from './sse-client.js';

const REQ_MKT_DATA = 1;
const CANCEL_MKT_DATA = 2;

/** REQ_MKT_DATA messages this worker sent (no snapshots are taken in these tests). */
const mktDataRequests = (s: Stack) => s.sim.control.received({ clientId: 3, msgId: REQ_MKT_DATA });

const metric = async (s: Stack, name: string, labels = ''): Promise<number> => {
  const text = (await http(`${s.url}/metrics`)).body as string;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('feeds – market data fan-out against the simulator', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ FEED_HEARTBEAT_MS: '200', FEED_BUFFER_EVENTS: '32' });
  });
  after(() => s.close());

  it('50 callers on one contract share one IB subscription; the last leaving cancels it at IB', async () => {
    const before = s.sim.control.received({ clientId: 3, msgId: REQ_MKT_DATA }).length;
    const clients = Array.from({ length: 50 }, () => new SseClient(`${s.url}/market/data?symbol=AAPL&secType=STK`));
    await Promise.all(clients.map((c) => c.opened));
    assert.ok(
      clients.every((c) => c.status === 200 && String(c.headers['content-type']).startsWith('text/event-stream')),
    );
    assert.equal(clients[0]!.headers['x-accel-buffering'], 'no');
    // Every caller gets the current state (BID, ASK, LAST …) even though only one IB request was made.
    await eventually(
      () => clients.every((c) => c.named('tick').some((e) => e.data.field === 'BID')),
      5000,
      'a BID tick for every caller',
    );
    const sent = s.sim.control.received({ clientId: 3, msgId: REQ_MKT_DATA }).slice(before);
    assert.equal(sent.length, 1, 'one REQ_MKT_DATA for 50 callers');
    assert.equal(s.sim.control.activeMarketDataLines(), 1);
    assert.equal(s.worker.feeds.stats().topics, 1);
    assert.equal(await metric(s, 'ibworker_feed_subscribers', '{kind="market_data"}'), 50);
    assert.equal(await metric(s, 'ibworker_feed_ib_subscriptions', '{kind="market_data"}'), 1);
    assert.equal(await metric(s, 'ibworker_market_data_lines_in_use'), 1);
    // Live ticks reach everybody, with increasing ids.
    s.sim.control.setPrice('AAPL', 201.5);
    await eventually(
      () => clients.every((c) => c.named('tick').some((e) => e.data.field === 'LAST' && e.data.value === 201.5)),
      5000,
      'LAST 201.5 everywhere',
    );
    const ids = clients[0]!.events.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    await eventually(() => clients[0]!.comments > 0, 3000, 'a heartbeat comment');

    const reqId = sent[0]!.fields[1];
    for (const c of clients.slice(0, 49)) c.close();
    await eventually(() => s.worker.feeds.stats().subscribers === 1, 3000, '49 callers gone');
    assert.equal(
      s.sim.control.received({ clientId: 3, msgId: CANCEL_MKT_DATA }).filter((m) => m.fields[1] === reqId).length,
      0,
      'no cancel while one caller remains',
    );
    clients[49]!.close();
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: CANCEL_MKT_DATA }).some((m) => m.fields[1] === reqId),
      3000,
      'CANCEL_MKT_DATA at the simulator',
    );
    await eventually(
      () => s.sim.control.activeMarketDataLines() === 0 && s.worker.feeds.stats().topics === 0,
      3000,
      'line released',
    );
    assert.equal(await metric(s, 'ibworker_market_data_lines_in_use'), 0);
    assert.equal(await metric(s, 'ibworker_feed_subscribers', '{kind="market_data"}'), 0);
  });

  it('Last-Event-ID resume sends the current state first', async () => {
    const a = new SseClient(`${s.url}/market/data?symbol=MSFT`);
    await eventually(() => a.named('tick').some((e) => e.data.field === 'ASK'), 5000, 'first ticks');
    const last = a.events.at(-1)!.id!;
    a.close();
    const b = new SseClient(`${s.url}/market/data?symbol=MSFT`, { 'last-event-id': last });
    await eventually(() => b.named('tick').length >= 4, 5000, 'state on resume');
    const fields = b.named('tick').map((e) => e.data.field);
    for (const f of ['BID', 'ASK', 'LAST'])
      assert.ok(fields.includes(f), `${f} in the resumed state (${fields.join(',')})`);
    b.close();
    await eventually(() => s.worker.feeds.stats().topics === 0, 3000, 'released');
  });

  it('several contracts in one stream; unknown contract → 404 before any stream; bad query → 400', async () => {
    const c = new SseClient(`${s.url}/market/data?symbols=AAPL,MSFT,SPY&format=sse`);
    await eventually(() => new Set(c.named('tick').map((e) => e.data.symbol)).size === 3, 5000, 'ticks of 3 symbols');
    assert.equal(s.worker.feeds.stats().topics, 3);
    c.close();
    const nf = await http(`${s.url}/market/data?symbol=NOSUCH&format=sse`);
    assert.equal(nf.status, 404, JSON.stringify(nf.body));
    assert.equal(nf.body.error.code, 'CONTRACT_NOT_FOUND');
    const bad = await http(`${s.url}/market/data?symbol=AAPL&format=xml`);
    assert.equal(bad.status, 400);
    await eventually(() => s.worker.feeds.stats().topics === 0, 3000, 'released');
  });

  it('farm flap (2103 → 2104): status degraded then restored, the subscription is kept, ticks continue', async () => {
    const c = new SseClient(`${s.url}/market/data?symbol=IBM`);
    await eventually(() => c.named('tick').length > 0, 5000, 'ticks');
    const sentBefore = mktDataRequests(s).length;
    await s.sim.control.flapFarm('usfarm', { downMs: 50 });
    await eventually(() => c.named('status').some((e) => e.data.state === 'restored'), 5000, 'restored status');
    assert.deepEqual(
      c.named('status').map((e) => e.data.state),
      ['degraded', 'restored'],
    );
    s.sim.control.setPrice('IBM', 123.25);
    await eventually(() => c.named('tick').some((e) => e.data.value === 123.25), 5000, 'tick after the flap');
    assert.equal(mktDataRequests(s).length, sentBefore, 'nothing re-requested: nothing was lost');
    c.close();
  });

  it('1101 (data lost): every stream is re-subscribed at IB and told so; ticks continue', async () => {
    const c = new SseClient(`${s.url}/market/data?symbol=AMZN`);
    await eventually(() => c.named('tick').length > 0, 5000, 'ticks');
    const sentBefore = mktDataRequests(s).length;
    s.sim.control.sendNotice(1101);
    await eventually(() => c.named('status').some((e) => e.data.state === 'restored'), 5000, 'restored status');
    assert.deepEqual(
      c.named('status').map((e) => [e.data.state, e.data.resubscribed]),
      [
        ['degraded', undefined],
        ['restored', true],
      ],
    );
    await eventually(() => mktDataRequests(s).length === sentBefore + 1, 5000, 'REQ_MKT_DATA sent again');
    await eventually(() => s.sim.control.activeMarketDataLines() === 1, 5000, 'line held again');
    s.sim.control.setPrice('AMZN', 181.5);
    await eventually(() => c.named('tick').some((e) => e.data.value === 181.5), 5000, 'tick after 1101');
    c.close();
    await eventually(() => s.sim.control.activeMarketDataLines() === 0, 3000, 'cancelled');
  });

  it('1100 then 1101: one degraded and one restored event, the stream re-subscribed', async () => {
    const c = new SseClient(`${s.url}/market/data?symbol=IBM`);
    await eventually(() => c.named('tick').length > 0, 5000, 'ticks');
    s.sim.control.sendNotice(1100);
    await eventually(() => c.named('status').some((e) => e.data.state === 'degraded'), 5000, 'degraded');
    s.sim.control.sendNotice(1101);
    await eventually(() => c.named('status').some((e) => e.data.state === 'restored'), 5000, 'restored');
    s.sim.control.setPrice('IBM', 183.25);
    await eventually(() => c.named('tick').some((e) => e.data.value === 183.25), 5000, 'tick after 1101');
    const states = c.named('status').map((e) => [e.data.state, e.data.resubscribed]);
    assert.deepEqual(
      states,
      [
        ['degraded', undefined],
        ['restored', true],
      ],
      'one restored event after 1100 + 1101',
    );
    c.close();
  });

  it('a price update carries each size once (IB repeats the size of a price tick as its own TICK_SIZE)', async () => {
    const c = new SseClient(`${s.url}/market/data?symbol=MSFT`);
    await eventually(() => c.named('tick').some((e) => e.data.field === 'ASK_SIZE'), 5000, 'first sizes');
    const before = c.named('tick').length;
    s.sim.control.setPrice('MSFT', 411.37);
    const updated = () =>
      c
        .named('tick')
        .slice(before)
        .some((e) => e.data.field === 'LAST' && e.data.value === 411.37);
    await eventually(updated, 5000, 'update');
    await new Promise((r) => setTimeout(r, 200));
    const update = c
      .named('tick')
      .slice(before)
      .map((e) => e.data.field as string);
    for (const field of ['ASK_SIZE', 'LAST_SIZE']) {
      assert.equal(update.filter((f) => f === field).length, 1, `${field} once in ${update.join(',')}`);
    }
    c.close();
  });

  it('gateway restart mid-stream: status events, subscription re-established, data resumes, same stream', async () => {
    const c = new SseClient(`${s.url}/market/data?symbol=TSLA`);
    await eventually(() => c.named('tick').length > 0, 5000, 'ticks');
    await s.sim.control.restart({ downMs: 300 });
    await eventually(() => c.named('status').some((e) => e.data.state === 'restored'), 10_000, 'restored status');
    const states = c.named('status').map((e) => e.data.state);
    assert.equal(states[0], 'degraded');
    assert.equal(c.named('status').find((e) => e.data.state === 'restored')!.data.resubscribed, true);
    assert.equal(c.ended, false, 'the caller did not have to reconnect');
    await eventually(() => s.sim.control.activeMarketDataLines() === 1, 5000, 're-subscribed at the simulator');
    s.sim.control.setPrice('TSLA', 250.75);
    await eventually(() => c.named('tick').some((e) => e.data.value === 250.75), 5000, 'tick after the restart');
    c.close();
    await eventually(() => s.sim.control.activeMarketDataLines() === 0, 3000, 'cancelled');
  });

  it('a caller that reads nothing never holds more than FEED_BUFFER_EVENTS; drops are counted', async () => {
    // A raw socket that never reads: the kernel buffers fill, then the worker must stop writing.
    const sock = connect(s.worker.port);
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET /market/data?symbols=AAPL,MSFT,SPY,TSLA,IBM,AMZN&format=sse HTTP/1.1\r\nHost: x\r\n\r\n`);
    sock.pause();
    await eventually(() => s.worker.feeds.stats().subscribers === 1, 5000, 'stream open');
    let max = 0;
    let price = 100;
    for (
      let i = 0;
      i < 20_000 && (await metric(s, 'ibworker_feed_dropped_events_total', '{kind="market_data"}')) === 0;
      i++
    ) {
      for (let k = 0; k < 50; k++) {
        price += 0.01;
        for (const sym of ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN'])
          s.sim.control.setPrice(sym, Number(price.toFixed(2)));
      }
      await new Promise((r) => setTimeout(r, 5));
      max = Math.max(max, s.worker.feeds.stats().maxBuffered);
      assert.ok(max <= 32, `buffered ${max} > cap`);
    }
    assert.ok((await metric(s, 'ibworker_feed_dropped_events_total', '{kind="market_data"}')) > 0, 'drops counted');
    assert.ok(s.worker.feeds.stats().maxBuffered <= 32);
    sock.destroy();
    await eventually(
      () => s.worker.feeds.stats().subscribers === 0 && s.worker.feeds.stats().topics === 0,
      3000,
      'cleaned up',
    );
  });
});
