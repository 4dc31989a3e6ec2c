import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGatewaySim } from '../src/index.js';
import { contractData } from '../src/encode/contracts.js';
import { encodeFrame } from '../src/wire/framing.js';
import type { Field } from '../src/wire/fields.js';
import { AAPL, connectApi, EventName, nextEvent, waitUntil, type IBApiT, type SeenError } from './helpers.js';

/**
 * The fixes the repository's patches/@stoqey+ib+*.patch carries (applied by patch-package at install), each
 * proven by feeding IB's exact bytes: the simulator at the relevant server version, or frames laid out as IB's
 * Java EDecoder reads them (field for field, in IB's encoding), through a bare TCP peer. Each assertion fails on
 * unpatched @stoqey/ib 1.6.10.
 */

/** A bare gateway: V100 handshake at `serverVersion`, NEXT_VALID_ID on START_API, then whatever a test sends. */
class BareGateway {
  private server!: Server;
  private socket: Socket | undefined;
  port = 0;

  constructor(private readonly serverVersion: number) {}

  async start(): Promise<void> {
    this.server = createServer((s) => {
      this.socket = s;
      let buf = Buffer.alloc(0);
      let shaken = false;
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!shaken) {
          if (buf.length < 8) return;
          const n = buf.readUInt32BE(4);
          if (buf.length < 8 + n) return;
          buf = buf.subarray(8 + n);
          shaken = true;
          s.write(encodeFrame([this.serverVersion, '20261201 21:00:00 GMT']));
        }
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const fields = buf
            .subarray(4, 4 + buf.readUInt32BE(0))
            .toString('utf8')
            .split('\0');
          buf = buf.subarray(4 + buf.readUInt32BE(0));
          if (fields[0] === '71') {
            this.send([15, 1, 'DU1234567']);
            this.send([9, 1, 1]);
          }
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  send(fields: Field[]): void {
    this.socket!.write(encodeFrame(fields));
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A client of a bare gateway and the events it decodes. */
async function bareClient(serverVersion: number): Promise<{ gw: BareGateway; api: IBApiT; errors: SeenError[] }> {
  const gw = new BareGateway(serverVersion);
  await gw.start();
  const { api, errors } = await connectApi(gw.port, 1);
  assert.equal(api.serverVersion, serverVersion);
  return { gw, api, errors };
}

describe("@stoqey/ib patches, each against IB's bytes", () => {
  let bare: Awaited<ReturnType<typeof bareClient>>;
  before(async () => {
    bare = await bareClient(176);
  });
  after(async () => {
    bare.api.disconnect();
    await bare.gw.stop();
  });

  it('TICK_REQ_PARAMS: minTick is a double (0.01, not 0)', async () => {
    const ev = nextEvent(bare.api, EventName.tickReqParams, (r: number) => r === 7);
    bare.gw.send([81, 7, '0.01', 'SMART', 3]);
    const [, minTick, bbo, perms] = await ev;
    assert.deepEqual([minTick, bbo, perms], [0.01, 'SMART', 3]);
  });

  it('TICK_PRICE: attribute bits canAutoExecute, pastLimit, preOpen; BID (1) is followed by BID_SIZE (0)', async () => {
    const prices: unknown[] = [];
    const sizes: Array<[number, number]> = [];
    bare.api.on(EventName.tickPrice, (r: number, type: number, price: number, attribs: unknown) => {
      if (r === 8) prices.push([type, price, attribs]);
    });
    bare.api.on(EventName.tickSize, (r: number, type: number, size: number) => {
      if (r === 8) sizes.push([type, size]);
    });
    // version 6, reqId, tickType, price, size, attrMask — as TWS writes it
    bare.gw.send([1, 6, 8, 1, '189.5', '300', 2]); // pastLimit only
    bare.gw.send([1, 6, 8, 2, '189.6', '200', 5]); // canAutoExecute + preOpen
    bare.gw.send([1, 6, 8, 4, '189.55', '100', 0]);
    await waitUntil(() => sizes.length === 3, 2000, 'three sizes');
    assert.deepEqual(prices, [
      [1, 189.5, { canAutoExecute: false, pastLimit: true, preOpen: false }],
      [2, 189.6, { canAutoExecute: true, pastLimit: false, preOpen: true }],
      [4, 189.55, { canAutoExecute: false, pastLimit: false, preOpen: false }],
    ]);
    assert.deepEqual(sizes, [
      [0, 300],
      [3, 200],
      [5, 100],
    ]);
  });

  it('HISTORICAL_TICKS_BID_ASK: mask bit 0 is askPastHigh, bit 1 bidPastLow', async () => {
    const ev = nextEvent(bare.api, EventName.historicalTicksBidAsk, (r: number) => r === 9);
    // reqId, count, then per tick: time, mask, priceBid, priceAsk, sizeBid, sizeAsk; done
    bare.gw.send([
      97,
      9,
      2,
      1764622800,
      1,
      '189.5',
      '189.6',
      '300',
      '200',
      1764622801,
      2,
      '189.4',
      '189.7',
      '100',
      '100',
      1,
    ]);
    const [, ticks, done] = await ev;
    assert.equal(done, true);
    assert.deepEqual(
      ticks.map((t: { tickAttribBidAsk: unknown }) => t.tickAttribBidAsk),
      [
        { askPastHigh: true, bidPastLow: false },
        { askPastHigh: false, bidPastLow: true },
      ],
    );
  });

  it('ERR_MSG: an advancedOrderRejectJson that is not JSON is passed on as text; the message decodes', async () => {
    const ev = nextEvent(bare.api, EventName.error, (_e: Error, code: number, id: number) => code === 201 && id === 11);
    bare.gw.send([4, 2, 11, 201, 'Order rejected - reason:X', 'not json {']);
    const [err, , , reject] = await ev;
    assert.equal(err.message, 'Order rejected - reason:X');
    assert.equal(reject, 'not json {');
    const ok = nextEvent(bare.api, EventName.error, (_e: Error, code: number, id: number) => code === 201 && id === 12);
    bare.gw.send([4, 2, 12, 201, 'Order rejected - reason:Y', '{"rejectReason":"Y"}']);
    assert.deepEqual((await ok)[3], { rejectReason: 'Y' });
  });

  it("leftover fields at the end of a message are ignored as IB's decoder does (no 505)", async () => {
    const ev = nextEvent(bare.api, EventName.currentTime);
    bare.gw.send([49, 1, 1764622800, 'a field from a newer gateway']);
    assert.equal((await ev)[0], 1764622800);
    const after = nextEvent(bare.api, EventName.currentTime);
    bare.gw.send([49, 1, 1764622801]);
    await after;
    // (the test helper's own layout check reports the left field; the library must not)
    assert.deepEqual(
      bare.errors.filter((e) => e.code === 505 && !e.message.includes('fields left')),
      [],
    );
  });

  it('CONTRACT_DATA: a last trade date with a time splits on whitespace (date, time)', async () => {
    const gw = await startGatewaySim({ serverVersion: 176, tickIntervalMs: 0 });
    try {
      const es = gw.sim.engine.catalogue.all.find((c) => c.secType === 'FUT')!;
      const ev = nextEvent(bare.api, EventName.contractDetails, (r: number) => r === 13);
      bare.gw.send(contractData(176, 13, { ...es, lastTradeDate: '20261218 08:30 US/Central' }));
      const [, details] = await ev;
      assert.equal(details.contract.lastTradeDateOrContractMonth, '20261218');
      assert.equal(details.lastTradeTime, '08:30');
    } finally {
      await gw.close();
    }
  });
});

describe('@stoqey/ib patch: COMPLETED_ORDER below server version 177 (faProfile)', () => {
  for (const serverVersion of [164, 176, 177]) {
    it(`server version ${serverVersion}: completed orders decode field for field`, async () => {
      const gw = await startGatewaySim({ serverVersion, tickIntervalMs: 0 });
      const { api, errors } = await connectApi(gw.port, 0);
      try {
        const mktOrder = { action: 'BUY', orderType: 'MKT', totalQuantity: 7, orderRef: 'ref-7', transmit: true };
        api.placeOrder(1, AAPL, mktOrder as never);
        await waitUntil(() => gw.control.orders()[0]?.status === 'Filled', 2000, 'fill');
        type State = { status: string; completedStatus: string; completedTime: string };
        const done: Array<[{ symbol: string; conId: number }, Record<string, unknown>, State]> = [];
        api.on(EventName.completedOrder, (c: never, o: never, s: never) => done.push([c, o, s]));
        const end = nextEvent(api, EventName.completedOrdersEnd);
        api.reqCompletedOrders(false);
        await end;
        assert.equal(done.length, 1);
        const [contract, order, state] = done[0]!;
        assert.deepEqual([contract.symbol, contract.conId], ['AAPL', 265598]);
        assert.deepEqual(
          [order.action, order.totalQuantity, order.orderType, order.orderRef, order.filledQuantity],
          ['BUY', 7, 'MKT', 'ref-7', 7],
        );
        assert.equal(order.permId, gw.control.orders()[0]!.permId);
        assert.equal(state.status, 'Filled');
        assert.equal(state.completedStatus, 'Filled');
        assert.match(state.completedTime, /^\d{8} \d{2}:\d{2}:\d{2} GMT$/);
        assert.deepEqual(
          errors.filter((e) => e.code === 505),
          [],
        );
      } finally {
        api.disconnect();
        await gw.close();
      }
    });
  }
});
