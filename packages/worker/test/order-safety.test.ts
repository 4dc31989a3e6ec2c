import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AAPL, eventually, http, startStack, type Stack } from './helpers.js';

const PLACE_ORDER = 3;
const REQ_GLOBAL_CANCEL = 58;

interface JournalEvent {
  cursor: number;
  type: string;
  orderId?: number;
  permId?: number;
  status?: string;
  execId?: string;
  reconciled?: boolean;
}

async function journal(url: string): Promise<JournalEvent[]> {
  return (await http(`${url}/order/events?limit=1000`)).body.events as JournalEvent[];
}

describe('reconciliation – fills during an outage are recovered into the journal', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('a fill while the gateway restarts → fill + Filled marked reconciled on reconnect; fills lost = 0', async () => {
    const placed = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 5, orderType: 'LMT', lmtPrice: 100, tif: 'GTC' } },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const { orderId, permId } = placed.body;
    const restarted = s.sim.control.restart({ downMs: 400 });
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 503, 3000, 'worker sees the outage');
    assert.ok(s.sim.control.fillOrder({ orderId, clientId: 3 }), 'simulator fills the order during the outage');
    await restarted;
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 200, 8000, 'ready again');
    const events = await eventually(
      async () => {
        const all = await journal(s.url);
        const mine = all.filter((e) => e.orderId === orderId || e.permId === permId);
        return mine.some((e) => e.type === 'status' && e.status === 'Filled') ? mine : undefined;
      },
      5000,
      'Filled in the journal',
    );
    const fills = events!.filter((e) => e.type === 'fill');
    assert.ok(fills.length >= 1);
    assert.ok(
      fills.every((e) => e.reconciled === true),
      JSON.stringify(fills),
    );
    const filled = events!.find((e) => e.type === 'status' && e.status === 'Filled')!;
    assert.equal(filled.reconciled, true);
    // Fills lost = 0: every execution IB has for the order is journalled exactly once.
    const simExecs = s.sim.control
      .executions()
      .filter((e) => e.permId === permId)
      .map((e) => e.execId);
    assert.ok(simExecs.length >= 1);
    assert.deepEqual([...new Set(fills.map((e) => e.execId))].sort(), [...simExecs].sort());
    assert.equal(fills.length, simExecs.length);
    // The mirror moved too (from IB's completed orders), so GET /order/:id is not stuck at Submitted.
    const g = await http(`${s.url}/order/${orderId}`);
    assert.equal(g.body.status, 'Filled');
    const metrics = (await http(`${s.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_reconciled_events_total\{type="fill"\} [1-9]/m);
    assert.match(metrics, /^ibworker_journal_events_total\{type="accepted"\} [1-9]/m);
  });

  it('a second reconnect without changes appends nothing reconciled', async () => {
    const before = (await journal(s.url)).filter((e) => e.reconciled).length;
    await s.sim.control.restart({ downMs: 100 });
    await eventually(async () => (await http(`${s.url}/health/ready`)).status === 200, 8000, 'ready again');
    await eventually(() => s.worker.safety.reconciler?.reconciled, 3000, 'reconciled');
    assert.equal((await journal(s.url)).filter((e) => e.reconciled).length, before);
  });

  it('1101 (data lost, socket kept) → reconciliation runs again, and live journalling resumes after it', async () => {
    const runs = s.worker.safety.reconciler?.status().lastRun?.at;
    s.sim.control.sendNotice(1101);
    await eventually(
      () => s.worker.safety.reconciler?.status().lastRun?.at !== runs,
      5000,
      'a reconciliation pass after 1101',
    );
    await eventually(() => s.worker.safety.reconciler?.reconciled, 5000, 'reconciled');
    const placed = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await eventually(
      async () =>
        (await journal(s.url)).some(
          (e) => e.orderId === placed.body.orderId && e.type === 'fill' && e.reconciled !== true,
        ),
      5000,
      'the new fill journalled live',
    );
  });
});

describe('safety policy – per API key, audited, before anything reaches IB', () => {
  let s: Stack;
  const policy = {
    default: { maxQuantity: 1000 },
    keys: {
      viewer: { readOnly: true },
      algo: { symbols: ['AAPL'], maxQuantity: 10, priceBandPercent: 10, maxNotional: 1500 },
    },
  };
  before(async () => {
    s = await startStack({ ORDER_POLICY: JSON.stringify(policy) });
    s.sim.control.setPrice('AAPL', 200);
  });
  after(() => s.close());

  const place = (key: string | undefined, order: Record<string, unknown>, contract: Record<string, unknown> = AAPL) =>
    http(`${s.url}/order`, { method: 'POST', json: { contract, order }, headers: key ? { 'x-ibrest-key': key } : {} });

  it('refusals → 403 with the policy code, zero orders at IB; accepted orders pass', async () => {
    const placesBefore = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const cases: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
      ['viewer', { action: 'BUY', totalQuantity: 1, orderType: 'MKT' }, AAPL, 'POLICY_READ_ONLY'],
      [
        'algo',
        { action: 'BUY', totalQuantity: 1, orderType: 'MKT' },
        { ...AAPL, symbol: 'MSFT' },
        'POLICY_SYMBOL_NOT_ALLOWED',
      ],
      ['algo', { action: 'BUY', totalQuantity: 11, orderType: 'LMT', lmtPrice: 200 }, AAPL, 'POLICY_QUANTITY_LIMIT'],
      ['algo', { action: 'BUY', totalQuantity: 10, orderType: 'LMT', lmtPrice: 150 }, AAPL, 'POLICY_PRICE_BAND'],
      ['algo', { action: 'BUY', totalQuantity: 10, orderType: 'MKT' }, AAPL, 'POLICY_NOTIONAL_LIMIT'],
      [
        undefined as unknown as string,
        { action: 'BUY', totalQuantity: 1001, orderType: 'MKT' },
        AAPL,
        'POLICY_QUANTITY_LIMIT',
      ],
    ];
    for (const [key, order, contract, code] of cases) {
      const r = await place(key, order, contract);
      assert.equal(r.status, 403, `${key} ${code}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code);
    }
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, placesBefore);
    const ok = await place('algo', { action: 'BUY', totalQuantity: 5, orderType: 'LMT', lmtPrice: 195 });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    // A read-only key may not cancel either, nor global-cancel.
    const cancel = await http(`${s.url}/order/${ok.body.orderId}`, {
      method: 'DELETE',
      headers: { 'x-ibrest-key': 'viewer' },
    });
    assert.equal(cancel.status, 403);
    const gc = await http(`${s.url}/order/global-cancel`, { method: 'POST', headers: { 'x-ibrest-key': 'viewer' } });
    assert.equal(gc.status, 403);
    assert.equal(gc.body.error.code, 'POLICY_READ_ONLY');
    assert.equal(s.sim.control.received({ clientId: 3, msgId: REQ_GLOBAL_CANCEL }).length, 0);
  });

  it('every decision is in the audit log (key name, action, code) and in metrics', async () => {
    const entries = await s.worker.safety.audit.read({ since: 0, limit: 1000 });
    const refused = entries.filter((e) => e.decision === 'refused');
    assert.ok(refused.some((e) => e.apiKeyName === 'viewer' && e.code === 'POLICY_READ_ONLY' && e.action === 'place'));
    assert.ok(
      refused.some((e) => e.apiKeyName === 'algo' && e.code === 'POLICY_PRICE_BAND' && e.order?.limitPrice === 150),
    );
    assert.ok(refused.some((e) => e.action === 'global-cancel'));
    assert.ok(entries.some((e) => e.decision === 'accepted' && e.apiKeyName === 'algo' && e.order?.symbol === 'AAPL'));
    const metrics = (await http(`${s.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_policy_decisions_total\{decision="refused",code="POLICY_READ_ONLY"\} [1-9]/m);
    assert.match(metrics, /^ibworker_policy_decisions_total\{decision="accepted",code="none"\} [1-9]/m);
  });

  it('POST /order/whatif is checked against the policy (refused without reaching IB)', async () => {
    const before = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const r = await http(`${s.url}/order/whatif`, {
      method: 'POST',
      json: { contract: { ...AAPL, symbol: 'MSFT' }, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
      headers: { 'x-ibrest-key': 'algo' },
    });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'POLICY_SYMBOL_NOT_ALLOWED');
    const invalid = await http(`${s.url}/order/whatif`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: -1, orderType: 'MKT' } },
    });
    assert.equal(invalid.status, 400);
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, before);
  });

  it('global cancel → reqGlobalCancel at IB, every open order cancelled, audited', async () => {
    const a = await place('algo', { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 190 });
    assert.equal(a.status, 201);
    const r = await http(`${s.url}/order/global-cancel`, { method: 'DELETE', headers: { 'x-ibrest-key': 'algo' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await eventually(
      () => s.sim.control.received({ clientId: 3, msgId: REQ_GLOBAL_CANCEL }).length === 1,
      3000,
      'reqGlobalCancel at IB',
    );
    await eventually(
      () => s.sim.control.orders().every((o) => !['Submitted', 'PreSubmitted'].includes(o.status)),
      3000,
      'all orders cancelled',
    );
    const entries = await s.worker.safety.audit.read({ since: 0, limit: 1000 });
    assert.ok(
      entries.some((e) => e.action === 'global-cancel' && e.decision === 'accepted' && e.apiKeyName === 'algo'),
    );
  });
});

describe('maintenance windows – 503 + Retry-After for what needs IB, mirror reads still served', () => {
  let s: Stack;
  // Monday 2024-01-01 10:30 UTC, inside "Mon 10:00-11:00 UTC".
  let now = Date.UTC(2024, 0, 1, 10, 30);
  before(async () => {
    s = await startStack({ IB_MAINTENANCE_WINDOWS: 'Mon 10:00-11:00 UTC' }, {}, { clock: () => now });
  });
  after(() => s.close());

  it('in the window: order writes, IB reads get 503 IB_MAINTENANCE_WINDOW to the end; the mirror answers', async () => {
    const places = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const r = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'MKT' } },
      headers: { 'idempotency-key': 'mw-1' },
    });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'IB_MAINTENANCE_WINDOW');
    assert.equal(r.headers.get('retry-after'), String(30 * 60));
    assert.equal(r.body.error.details.endsAt, '2024-01-01T11:00:00.000Z');
    assert.equal((await http(`${s.url}/contract?symbol=AAPL`)).status, 503);
    assert.equal((await http(`${s.url}/order`)).status, 200);
    assert.equal((await http(`${s.url}/account/positions`)).status, 200);
    assert.equal((await http(`${s.url}/order/events`)).status, 200);
    assert.match((await http(`${s.url}/metrics`)).body, /^ibworker_maintenance_window 1/m);
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, places);
  });

  it('after the window everything resumes by itself (the key was never claimed)', async () => {
    now = Date.UTC(2024, 0, 1, 11, 0, 1);
    const r = await http(`${s.url}/order`, {
      method: 'POST',
      json: { contract: AAPL, order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT', lmtPrice: 50 } },
      headers: { 'idempotency-key': 'mw-1' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match((await http(`${s.url}/metrics`)).body, /^ibworker_maintenance_window 0/m);
  });
});
