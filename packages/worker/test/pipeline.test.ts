import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ApiError, createLogger } from '@ibrest/common';
import {
  createIdempotencyStore,
  createMaintenanceSchedule,
  orderRefForKey,
  type IdempotencyStore,
  type OrderEventInput,
} from '@ibrest/order-safety';
import { deadlineIn } from '../src/ib/deadline.js';
import { OrderIds } from '../src/ib/order-ids.js';
import type { OrderIntent, OrderService } from '../src/ib/order-service.js';
import { judge, judgeAll, type Watch } from '../src/orders/evidence.js';
import type { KeyLedger } from '../src/orders/key-ledger.js';
import {
  checkPolicy,
  checkTarget,
  claimKey,
  compose,
  fingerprint,
  idempotencyKeyOf,
  maintenance,
  newFlight,
  recordIntent,
  send,
  validate,
  type Flight,
  type OrderCall,
  type Outcome,
  type Step,
} from '../src/orders/pipeline.js';
import { Mirror } from '../src/state/mirror.js';
import type { OrderRecord } from '../src/state/types.js';
import { tempDataDir } from './helpers.js';

const log = createLogger('test', 'silent');
const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' };
const ANSWERED: Outcome = { kind: 'answered', status: 201, body: { ok: true } };

function call(over: Partial<OrderCall> = {}): OrderCall {
  return {
    op: 'place',
    method: 'POST',
    path: '/order',
    query: {},
    reqId: 'r1',
    deadline: deadlineIn(2000),
    log,
    headers: {},
    body: { contract: AAPL, order: { action: 'BUY', orderType: 'LMT', lmtPrice: 10, totalQuantity: 1 } },
    ...over,
  };
}

/** Runs one step with `next` standing for the rest of the pipeline. */
async function runStep(
  step: Step,
  f: Flight,
  next: () => Promise<Outcome> = async () => ANSWERED,
): Promise<{ o?: Outcome; err?: unknown; called: number }> {
  let called = 0;
  const outcome = await step(f, () => {
    called++;
    return next();
  }).then(
    (o): { o?: Outcome; err?: unknown } => ({ o }),
    (err: unknown) => ({ err }),
  );
  return { ...outcome, called };
}

function record(over: Partial<OrderRecord> = {}): OrderRecord {
  return {
    orderId: 7,
    clientId: 0,
    acknowledged: true,
    ibMessages: 1,
    contract: AAPL,
    order: { action: 'BUY', orderType: 'LMT', lmtPrice: 10, totalQuantity: 1 },
    status: 'Submitted',
    filled: 0,
    remaining: 1,
    avgFillPrice: 0,
    history: [],
    fills: [],
    errors: [],
    updatedAt: '',
    ...over,
  };
}

describe('order pipeline – the steps, one by one', () => {
  it('compose runs the steps in order, each around the rest', async () => {
    const seen: string[] = [];
    const step =
      (name: string): Step =>
      async (_f, next) => {
        seen.push(`>${name}`);
        const o = await next();
        seen.push(`<${name}`);
        return o;
      };
    const out = await compose([step('a'), step('b'), async () => ANSWERED], newFlight(call()));
    assert.equal(out, ANSWERED);
    assert.deepEqual(seen, ['>a', '>b', '<b', '<a']);
  });

  it('maintenance: inside a window 503 and nothing after it runs; outside it passes', async () => {
    const noon = Date.UTC(2026, 0, 7, 12, 30);
    const inWindow = maintenance({ schedule: createMaintenanceSchedule('12:00-13:00 UTC', { clock: () => noon }) });
    const r = await runStep(inWindow, newFlight(call()));
    assert.ok(r.err instanceof ApiError && r.err.status === 503 && r.err.code === 'IB_MAINTENANCE_WINDOW');
    assert.equal(r.called, 0);
    const outside = maintenance({ schedule: createMaintenanceSchedule('14:00-15:00 UTC', { clock: () => noon }) });
    assert.equal((await runStep(outside, newFlight(call()))).called, 1);
  });

  it('validate: all bad fields at once; one shape only; brackets default children, refuse a wrong side', async () => {
    const bad = await runStep(
      validate(),
      newFlight(call({ body: { contract: { secType: 'STK' }, order: { orderType: 'LMT' } } })),
    );
    assert.ok(bad.err instanceof ApiError && bad.err.status === 400);
    const fields = ((bad.err as ApiError).details!.fields as Array<{ field: string }>).map((f) => f.field).sort();
    assert.deepEqual(fields, [
      'body.contract.exchange',
      'body.contract.symbol',
      'body.order.action',
      'body.order.lmtPrice',
      'body.order.totalQuantity',
    ]);
    assert.equal(bad.called, 0);
    const two = await runStep(validate(), newFlight(call({ body: { contract: AAPL, order: {}, bracket: {} } })));
    assert.equal((two.err as ApiError).status, 400);

    const parent = { contract: AAPL, order: { action: 'BUY', orderType: 'LMT', lmtPrice: 10, totalQuantity: 5 } };
    const takeProfit = { order: { orderType: 'LMT', lmtPrice: 12 } };
    const stopLoss = { order: { orderType: 'STP', auxPrice: 9 } };
    const f = newFlight(call({ body: { bracket: { parent, takeProfit, stopLoss } } }));
    assert.equal((await runStep(validate(), f)).called, 1);
    assert.deepEqual(
      f.legs.map((l) => [l.role, l.order.action, l.order.totalQuantity]),
      [
        ['parent', 'BUY', 5],
        ['takeProfit', 'SELL', 5],
        ['stopLoss', 'SELL', 5],
      ],
    );
    assert.equal(f.shape, 'group');
    const wrong = await runStep(
      validate(),
      newFlight(
        call({
          body: {
            bracket: {
              parent: { contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 } },
              takeProfit: { order: { action: 'BUY', orderType: 'LMT', lmtPrice: 1 } },
            },
          },
        }),
      ),
    );
    assert.match((wrong.err as ApiError).message, /takeProfit\.order\.action must be SELL/);
    const oca = await runStep(
      validate(),
      newFlight(
        call({
          body: { oca: { orders: [{ contract: AAPL, order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 } }] } },
        }),
      ),
    );
    assert.match((oca.err as ApiError).message, /body\.oca\.orders needs at least 2/);
  });

  it('validate: a modify may change what IB allows; side, type and contract are refused, each named', async () => {
    const target = record();
    const ok = newFlight(
      call({ op: 'modify', method: 'PUT', target, body: { order: { lmtPrice: 11, totalQuantity: 2, action: 'BUY' } } }),
    );
    assert.equal((await runStep(validate(), ok)).called, 1, 'an unchanged side may be repeated');
    const bad = await runStep(
      validate(),
      newFlight(
        call({
          op: 'modify',
          method: 'PUT',
          target,
          body: { contract: { symbol: 'MSFT' }, order: { action: 'SELL', orderType: 'MKT' } },
        }),
      ),
    );
    const fields = ((bad.err as ApiError).details!.fields as Array<{ field: string }>).map((x) => x.field).sort();
    assert.deepEqual(fields, ['body.contract.symbol', 'body.order.action', 'body.order.orderType']);
  });

  it('checkPolicy: a refusal throws before the rest runs; an acceptance leaves its audit record to await', async () => {
    let recorded = false;
    const begin = async () => ({ recorded: Promise.resolve().then(() => void (recorded = true)) });
    const accept = checkPolicy({ policy: { begin } });
    const f = newFlight(call());
    f.legs = [{ role: 'order', contract: AAPL, order: {}, want: 'submitted' }];
    assert.equal((await runStep(accept, f)).called, 1);
    await Promise.all(f.audit);
    assert.ok(recorded);
    const refuse = checkPolicy({
      policy: {
        begin: async () => {
          throw new ApiError(403, 'POLICY_READ_ONLY', 'read-only key');
        },
      },
    });
    const r = await runStep(refuse, f);
    assert.equal((r.err as ApiError).code, 'POLICY_READ_ONLY');
    assert.equal(r.called, 0);
  });

  describe('claimKey', () => {
    const withStore = async (fn: (store: IdempotencyStore) => Promise<void>) => {
      const dir = tempDataDir();
      const store = await createIdempotencyStore({ dir, fsync: false });
      try {
        await fn(store);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const fakeLedger = (over: Partial<KeyLedger> = {}) => {
      const recorded: Outcome[] = [];
      const ledger = {
        follows: () => false,
        lookup: async () => undefined,
        record: async (key: { storeKey: string }, _f: Flight, o: Outcome) => {
          recorded.push(o);
          if (o.kind === 'answered') await store!.complete(key.storeKey, { status: o.status, body: o.body });
        },
        ...over,
      } as unknown as KeyLedger;
      let store: IdempotencyStore | undefined;
      return { ledger, recorded, bind: (s: IdempotencyStore) => void (store = s) };
    };
    const keyed = (key: string, extra: Partial<OrderCall> = {}) =>
      newFlight(call({ headers: { 'idempotency-key': key }, rawHeaders: ['Idempotency-Key', key], ...extra }));

    it('no key: nothing claimed; a key: the answer is stored, the next request replays it without the rest', () =>
      withStore(async (store) => {
        const l = fakeLedger();
        l.bind(store);
        const step = claimKey({ store, ledger: l.ledger });
        assert.equal((await runStep(step, newFlight(call()))).called, 1);
        assert.equal(store.size, 0);
        const first = await runStep(step, keyed('k-1'));
        assert.equal(first.called, 1);
        const again = await runStep(step, keyed('k-1'));
        assert.equal(again.called, 0);
        assert.equal(again.o?.kind, 'answered');
        assert.equal((again.o as Extract<Outcome, { kind: 'answered' }>).headers?.['Idempotent-Replayed'], 'true');
        const other = await runStep(step, keyed('k-1', { body: { contract: AAPL, order: { action: 'SELL' } } }));
        assert.equal((other.err as ApiError).code, 'IDEMPOTENCY_KEY_REUSED');
      }));

    it('a throw from the rest (nothing reached IB) frees the key; a silent outcome keeps it following the order', () =>
      withStore(async (store) => {
        const l = fakeLedger();
        l.bind(store);
        const step = claimKey({ store, ledger: l.ledger });
        const thrown = await runStep(step, keyed('k-2'), async () => {
          throw new ApiError(429, 'PACING_LIMIT', 'slow down');
        });
        assert.equal((thrown.err as ApiError).code, 'PACING_LIMIT');
        assert.equal(store.get('k-2'), undefined, 'released');
        const silent: Outcome = { kind: 'silent', error: new ApiError(504, 'DEADLINE_EXCEEDED', 'silent') };
        const s = await runStep(step, keyed('k-3'), async () => silent);
        assert.equal(s.o, silent);
        assert.deepEqual(
          l.recorded.map((o) => o.kind),
          ['silent'],
        );
        assert.ok(store.get('k-3') !== undefined && store.get('k-3')!.response === undefined, 'kept, no frozen answer');
      }));

    it('IB already holds the key’s order (found by orderRef): answered with it, nothing placed', () =>
      withStore(async (store) => {
        const found = [record({ orderId: 42 })];
        let adopted = false;
        const l = fakeLedger({
          lookup: async (key) => (key.orderRef === orderRefForKey('k-4') ? found : undefined),
          adopt: async () => {
            adopted = true;
            return { status: 201, body: { orderId: 42 } };
          },
        });
        const r = await runStep(claimKey({ store, ledger: l.ledger }), keyed('k-4'));
        assert.equal(r.called, 0);
        assert.ok(adopted);
        assert.deepEqual((r.o as Extract<Outcome, { kind: 'answered' }>).body, { orderId: 42 });
      }));

    it('strict keys: blank or repeated → 400; trimmed; the fingerprint covers query but not timeout', () => {
      assert.throws(() => idempotencyKeyOf({ 'idempotency-key': '   ' }), /Idempotency-Key/);
      assert.throws(
        () => idempotencyKeyOf({ 'idempotency-key': 'a, b' }, ['Idempotency-Key', 'a', 'idempotency-key', 'b']),
        /one Idempotency-Key/,
      );
      assert.equal(idempotencyKeyOf({ 'idempotency-key': ' k ' }), 'k');
      const base = { method: 'DELETE', path: '/order/15', body: undefined };
      assert.equal(fingerprint({ ...base, query: { timeout: 3 } }), fingerprint({ ...base, query: {} }));
      assert.notEqual(fingerprint({ ...base, query: { wait: 'filled' } }), fingerprint({ ...base, query: {} }));
      assert.notEqual(fingerprint({ ...base, path: '/order/16', query: {} }), fingerprint({ ...base, query: {} }));
    });
  });

  it('checkTarget: a final order cannot change (409) and nothing after it runs', async () => {
    const r = await runStep(checkTarget(), newFlight(call({ op: 'cancel', target: record({ status: 'Filled' }) })));
    assert.equal((r.err as ApiError).code, 'ORDER_NOT_MODIFIABLE');
    assert.equal(r.called, 0);
  });

  const fakeService = (mirror: Mirror, sendImpl: (it: OrderIntent) => Promise<void> = async () => {}) => {
    const ids = new OrderIds();
    return {
      mirror,
      ids,
      assertServing: () => 1,
      retryAfterSeconds: () => 1,
      send: (_s: number, it: OrderIntent) => sendImpl(it),
    } as unknown as OrderService;
  };

  it(
    'recordIntent: ids above every used id, orderRef stamped, journal durable before sending; a throw after it is ' +
      'journalled and leaves no placeholder',
    async () => {
      const mirror = new Mirror(0);
      const service = fakeService(mirror);
      service.ids.floor(100);
      const journal: OrderEventInput[] = [];
      const step = recordIntent({
        service,
        store: { attachOrder: async () => {} } as unknown as IdempotencyStore,
        journal: { append: async (e) => void journal.push(e) as never },
        clientId: () => 0,
      });
      const f = newFlight(call());
      f.legs = [
        {
          role: 'order',
          contract: AAPL,
          order: { action: 'BUY', orderType: 'MKT', totalQuantity: 1 },
          want: 'submitted',
        },
      ];
      f.key = { storeKey: 'k', raw: 'k', orderRef: 'ik1-abc', meta: {} as never };
      const r = await runStep(step, f, async () => {
        assert.deepEqual(
          journal.map((e) => e.type),
          ['accepted'],
          'accepted is journalled before the rest runs',
        );
        throw new ApiError(503, 'IB_CONNECTION_LOST', 'gone before sending');
      });
      assert.equal((r.err as ApiError).code, 'IB_CONNECTION_LOST');
      assert.equal(f.intents[0]!.orderId, 100);
      assert.equal(f.intents[0]!.order!.orderRef, 'ik1-abc');
      await new Promise((res) => setImmediate(res));
      assert.deepEqual(
        journal.map((e) => e.type),
        ['accepted', 'rejected'],
      );
      assert.equal(mirror.orders.get(100), undefined, 'the placeholder is gone');
      assert.equal(mirror.orders.open().length, 0);
    },
  );

  it('send: a failure before the first message throws (nothing at IB); after it the outcome is lost', async () => {
    const mirror = new Mirror(0);
    const journal: OrderEventInput[] = [];
    let n = 0;
    const failing = fakeService(mirror, async () => {
      if (n++ === 1) throw new ApiError(503, 'IB_CONNECTION_LOST', 'lost');
    });
    const step = send({
      service: failing,
      journal: { append: async (e) => void journal.push(e) as never },
      clientId: () => 0,
    });
    const f = newFlight(call());
    f.sessionId = 1;
    f.legs = [0, 1].map(() => ({ role: 'parent' as const, contract: AAPL, order: {}, want: 'submitted' as const }));
    f.intents = [
      { action: 'place', orderId: 1 },
      { action: 'place', orderId: 2 },
    ];
    f.records = f.intents.map((it) => mirror.orders.expect(it.orderId, AAPL, {}));
    const r = await runStep(step, f);
    assert.equal(r.o?.kind, 'lost');
    assert.equal(r.called, 0);
    assert.deepEqual(
      journal.map((e) => [e.type, e.orderId]),
      [['sent', 1]],
    );
    n = 0;
    const first = fakeService(mirror, async () => {
      throw new ApiError(503, 'IB_NOT_READY', 'down');
    });
    const r2 = await runStep(
      send({ service: first, journal: { append: async () => ({}) as never }, clientId: () => 0 }),
      f,
    );
    assert.equal((r2.err as ApiError).code, 'IB_NOT_READY');
  });
});

describe('evidence – IB’s word decides, our bookkeeping never does', () => {
  const watch = (r: OrderRecord, want: Watch['want'], from = 0): Watch => ({
    record: r,
    want,
    errorsFrom: from,
    messagesFrom: r.ibMessages,
  });
  it('a placeholder is never success; IB’s acknowledgement is', () => {
    assert.deepEqual(
      judge(watch(record({ acknowledged: false, status: 'PendingSubmit' }), 'submitted'), 'place_order'),
      { kind: 'pending' },
    );
    assert.deepEqual(judge(watch(record({ status: 'Submitted' }), 'submitted'), 'place_order'), { kind: 'answered' });
    assert.deepEqual(judge(watch(record({ status: 'PendingSubmit' }), 'staged'), 'place_order'), { kind: 'answered' });
  });
  it('IB refusals answer at once with ibCode: 200 → 404, 201 → 422, 202 on wait=filled → ORDER_CANCELLED', () => {
    const err = (code: number, want: Watch['want'] = 'submitted') => {
      const v = judge(
        watch(record({ acknowledged: false, errors: [{ code, message: `IB ${code}`, at: '' }] }), want),
        'place_order',
      );
      assert.equal(v.kind, 'refused');
      return (v as { error: ApiError }).error;
    };
    assert.equal(err(200).status, 404);
    assert.equal(err(200).ibCode, 200);
    assert.equal(err(201).status, 422);
    assert.equal(err(202, 'filled').code, 'ORDER_CANCELLED');
    const notice = judge(
      watch(record({ errors: [{ code: 399, message: 'placed at the open', at: '' }] }), 'submitted'),
      'place_order',
    );
    assert.equal(notice.kind, 'answered', 'a warning is no refusal');
  });
  it(
    'a modify waits for a new message; errors from before it do not count; a cancel that finds the order filled is ' +
      '409',
    () => {
      const r = record({ errors: [{ code: 201, message: 'old', at: '' }] });
      const w = watch(r, 'modified', 1);
      assert.deepEqual(judge(w, 'modify_order'), { kind: 'pending' });
      r.ibMessages++;
      assert.deepEqual(judge(w, 'modify_order'), { kind: 'answered' });
      const filled = judge(watch(record({ status: 'Filled' }), 'cancelled'), 'cancel_order');
      assert.equal((filled as { error: ApiError }).error.code, 'ORDER_NOT_MODIFIABLE');
    },
  );
  it('a group is answered when every leg is; one refused leg refuses the group', () => {
    const ok = record({ status: 'Submitted' });
    const no = record({ orderId: 8, errors: [{ code: 387, message: 'Unsupported order type', at: '' }] });
    assert.equal(judgeAll([watch(ok, 'submitted'), watch(no, 'submitted')], 'place_order').kind, 'refused');
    assert.equal(
      judgeAll([watch(ok, 'submitted'), watch(record({ orderId: 9, acknowledged: false }), 'submitted')], 'place_order')
        .kind,
      'pending',
    );
  });
});

describe('order mirror – evidence, identity, bounded memory', () => {
  const open = (orderId: number, permId: number, clientId = 0) =>
    ({
      type: 'openOrder',
      orderId,
      contract: AAPL,
      order: { orderId, clientId, permId, action: 'BUY', totalQuantity: 10, orderRef: `ref-${orderId}` },
      orderState: { status: 'Submitted' },
    }) as const;
  it('placeholders are not listed; IB’s first message makes the order; a fill without Filled status fills it', () => {
    const m = new Mirror(0);
    const r = m.orders.expect(5, AAPL, { action: 'BUY', totalQuantity: 10, orderType: 'MKT' });
    assert.equal(m.orders.open().length, 0);
    m.apply({
      type: 'orderStatus',
      orderId: 5,
      status: 'Submitted',
      filled: 0,
      remaining: 10,
      avgFillPrice: 0,
      permId: 555,
      clientId: 0,
    });
    assert.equal(r.acknowledged, true);
    assert.equal(m.orders.open().length, 1);
    m.apply({
      type: 'execution',
      contract: AAPL,
      execution: { execId: 'x1', orderId: 5, clientId: 0, permId: 555, shares: 10, cumQty: 10, avgPrice: 3 },
    });
    assert.equal(r.status, 'Filled');
    assert.equal(m.orders.open().length, 0);
  });
  it('an unknown-contract refusal ends a placeholder as Inactive with IB’s reason', () => {
    const m = new Mirror(0);
    const r = m.orders.expect(6, AAPL, { totalQuantity: 1 });
    m.apply({
      type: 'orderError',
      orderId: 6,
      code: 200,
      message: 'No security definition has been found for the request',
    });
    assert.equal(r.status, 'Inactive');
    assert.equal(r.errors[0]!.code, 200);
  });
  it('an id a fresh gateway reuses is another order: both kept, found by permId, both candidates', () => {
    const m = new Mirror(0);
    m.apply(open(3, 111));
    m.apply({
      type: 'orderStatus',
      orderId: 3,
      status: 'Cancelled',
      filled: 0,
      remaining: 10,
      avgFillPrice: 0,
      permId: 111,
      clientId: 0,
    });
    m.apply(open(3, 222));
    assert.notEqual(m.orders.getByPermId(111), m.orders.getByPermId(222));
    assert.equal(m.orders.getByPermId(111)!.status, 'Cancelled');
    assert.equal(m.orders.candidates(3, [0]).length, 2);
    assert.deepEqual(
      m.orders
        .findByOrderRef('ref-3')!
        .map((x) => x.permId)
        .sort(),
      [111, 222],
    );
  });
  it('finished orders beyond the window leave the mirror; open ones stay', () => {
    const m = new Mirror(0);
    const small = new (m.orders.constructor as new (c: number, n: () => Date, w: number) => Mirror['orders'])(
      0,
      () => new Date(),
      10,
    );
    for (let i = 1; i <= 100; i++) {
      small.apply(open(i, 1000 + i));
      if (i % 2 === 0)
        small.apply({
          type: 'orderStatus',
          orderId: i,
          status: 'Filled',
          filled: 10,
          remaining: 0,
          avgFillPrice: 1,
          permId: 1000 + i,
          clientId: 0,
        });
    }
    assert.equal(small.open().length, 50);
    assert.equal(small.all().length, 60);
    assert.equal(small.size, 60);
    assert.ok(small.findByOrderRef('ref-2') !== undefined, 'the orderRef index outlives the record');
  });
});
