import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// The client's own encoder produces the PLACE_ORDER fields, so the decoder is checked against @stoqey/ib's layout.
import { Encoder } from '@stoqey/ib/dist/core/io/encoder.js';
import { readPlaceOrder } from '../src/decode/orders.js';
import { openOrder } from '../src/encode/orders.js';
import { ManualClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { positionMargin } from '../src/engine/margin.js';
import type { OrderRequest } from '../src/engine/orders.js';
import { FieldReader, UNSET_DOUBLE } from '../src/wire/fields.js';

/** PLACE_ORDER as @stoqey/ib puts it on the wire (booleans 1/0, undefined empty), split into fields. */
function encodePlaceOrder(sv: number, id: number, contract: object, order: object): string[] {
  let sent: unknown[] | undefined;
  const errors: string[] = [];
  const enc = new Encoder({
    serverVersion: sv,
    sendMsg: (tokens: unknown[]) => {
      sent = tokens.flat(Infinity);
    },
    emitError: (msg: string) => {
      errors.push(msg);
    },
  } as never);
  enc.placeOrder(id, contract as never, order as never);
  assert.deepEqual(errors, []);
  return sent!.map((t) => (t === true ? '1' : t === false ? '0' : t === undefined || t === null ? '' : String(t)));
}

const STK = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const BAG = {
  symbol: 'AAPL',
  secType: 'BAG',
  exchange: 'SMART',
  currency: 'USD',
  comboLegs: [
    {
      conId: 700000001,
      ratio: 1,
      action: 'BUY',
      exchange: 'SMART',
      openClose: 0,
      shortSaleSlot: 0,
      designatedLocation: '',
      exemptCode: -1,
    },
    {
      conId: 700000002,
      ratio: 1,
      action: 'SELL',
      exchange: 'SMART',
      openClose: 0,
      shortSaleSlot: 0,
      designatedLocation: '',
      exemptCode: -1,
    },
  ],
};
const BASE = { action: 'BUY', orderType: 'LMT', lmtPrice: 1.5, totalQuantity: 3, transmit: true };

describe('PLACE_ORDER – whatIf at its place for every server version and every variable-length block', () => {
  const variants: Array<[string, object, object]> = [
    ['plain', STK, {}],
    [
      'algo with params',
      STK,
      {
        algoStrategy: 'Adaptive',
        algoParams: [
          { tag: 'adaptivePriority', value: 'Urgent' },
          { tag: 'x', value: 'y' },
        ],
      },
    ],
    ['delta-neutral order type', STK, { deltaNeutralOrderType: 'LMT', deltaNeutralAuxPrice: 2, deltaNeutralConId: 1 }],
    [
      'scale tail',
      STK,
      { scaleInitLevelSize: 1, scaleSubsLevelSize: 1, scalePriceIncrement: 0.05, scaleAutoReset: true },
    ],
    ['hedge', STK, { hedgeType: 'D', hedgeParam: '0.5' }],
    ['delta-neutral contract', { ...STK, deltaNeutralContract: { conId: 1, delta: 0.5, price: 100 } }, {}],
    [
      'BAG legs, leg prices, routing params',
      BAG,
      { orderComboLegs: [{ price: 1 }, { price: 2 }], smartComboRoutingParams: [{ tag: 'NonGuaranteed', value: '1' }] },
    ],
  ];
  for (const sv of [164, 176, 193]) {
    for (const [name, contract, extra] of variants) {
      it(`${sv}: ${name}`, () => {
        for (const whatIf of [true, false]) {
          const fields = encodePlaceOrder(sv, 42, contract, { ...BASE, ...extra, whatIf, ocaType: 2 });
          const req = readPlaceOrder(sv, new FieldReader(fields));
          assert.equal(req.whatIf, whatIf);
          assert.equal(req.order.orderId, 42);
          assert.equal(req.order.ocaType, 2);
          assert.equal(req.order.lmtPrice, 1.5);
        }
      });
    }
  }
});

describe('margin model', () => {
  const engine = new Engine({ seed: 1, clock: new ManualClock(Date.UTC(2026, 0, 5, 15)) });
  const c = (s: string) => engine.catalogue.bySymbol(s)!;

  it('Reg-T stocks 50 % / 25 %, futures per contract, forex 3 %, short options premium + 20 % of strike', () => {
    assert.deepEqual(positionMargin(c('AAPL'), -10, 200, 1), { init: 1000, maint: 500 });
    const es = engine.catalogue.all.find((x) => x.secType === 'FUT')!;
    assert.deepEqual(positionMargin(es, 2, 5000, 50), { init: 33_000, maint: 30_000 });
    const eur = engine.catalogue.all.find((x) => x.secType === 'CASH')!;
    assert.ok(Math.abs(positionMargin(eur, 100_000, 1.1, 1).init - 3300) < 1e-6);
    const call = engine.catalogue.all.find((x) => x.secType === 'OPT')!;
    assert.equal(positionMargin(call, -1, 2, 100).init, 200 + call.strike * 100 * 0.2);
    assert.equal(positionMargin(call, 1, 2, 100).init, 200);
  });

  it('account values use it: InitMarginReq is the positions’ margin', () => {
    const v = engine.accounts.values('DU1234567');
    const mark = engine.accounts.markPrice(c('AAPL'));
    assert.equal(v.initMargin, 100 * mark * 0.5);
    assert.equal(v.maintMargin, 100 * mark * 0.25);
  });
});

describe('what-if desk', () => {
  const req = (over: Partial<OrderRequest>): OrderRequest => ({
    orderId: 7,
    action: 'BUY',
    totalQuantity: 100,
    orderType: 'MKT',
    tif: 'DAY',
    ocaGroup: '',
    ocaType: 0,
    account: '',
    orderRef: '',
    transmit: true,
    parentId: 0,
    outsideRth: false,
    ...over,
  });

  it('before = account margin, after = before + change, equity moves by the commission; nothing is placed', () => {
    const engine = new Engine({ seed: 1, clock: new ManualClock(Date.UTC(2026, 0, 5, 15)) });
    const aapl = engine.catalogue.bySymbol('AAPL')!;
    const v = engine.accounts.values('DU1234567');
    const { order, figures: f } = engine.whatIf.preview(3, req({}), aapl);
    assert.equal(f.initMarginBefore, Math.round(v.initMargin * 100) / 100);
    assert.equal(f.equityWithLoanBefore, Math.round(v.netLiquidation * 100) / 100);
    assert.ok(f.initMarginChange > 0 && f.maintMarginChange > 0);
    assert.equal(f.initMarginAfter, Math.round((f.initMarginBefore + f.initMarginChange) * 100) / 100);
    assert.equal(f.commission, 1);
    assert.ok(f.equityWithLoanChange < 0, 'buying at the ask costs the spread and the commission');
    assert.equal(f.warningText, '');
    assert.equal(order.permId, 0);
    assert.equal(order.status, 'PreSubmitted');
    assert.equal(engine.orders.all().length, 0);
    assert.equal(engine.whatIf.all().length, 1);
  });

  it('selling the long position releases margin; an order beyond equity carries IB’s warning', () => {
    const engine = new Engine({ seed: 1, clock: new ManualClock(Date.UTC(2026, 0, 5, 15)) });
    const aapl = engine.catalogue.bySymbol('AAPL')!;
    const sell = engine.whatIf.preview(3, req({ action: 'SELL', orderType: 'LMT', lmtPrice: 200 }), aapl).figures;
    assert.ok(sell.initMarginChange < 0);
    assert.equal(sell.initMarginAfter, 0);
    const huge = engine.whatIf.preview(3, req({ totalQuantity: 10_000 }), aapl).figures;
    assert.match(huge.warningText, /^YOUR ORDER IS NOT ACCEPTED\. .*MUST EXCEED THE INITIAL MARGIN/);
  });

  it('OPEN_ORDER keeps its field count; the flag and figures replace the unset block', () => {
    const engine = new Engine({ seed: 1, clock: new ManualClock(Date.UTC(2026, 0, 5, 15)) });
    const { order, figures } = engine.whatIf.preview(3, req({}), engine.catalogue.bySymbol('AAPL')!);
    for (const [sv, count] of [
      [164, 123],
      [176, 128],
      [193, 133],
    ] as const) {
      const plain = openOrder(sv, order);
      const wif = openOrder(sv, order, figures);
      assert.equal(wif.length, count);
      assert.equal(plain.length, count);
      const at = plain.indexOf('PreSubmitted');
      assert.equal(plain[at - 1], 0);
      assert.equal(wif[at - 1], 1);
      assert.equal(plain[at + 1], UNSET_DOUBLE);
      assert.equal(wif[at + 1], figures.initMarginBefore);
      assert.equal(wif[at + 13], 'USD');
    }
  });
});
