import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { orderRefForKey } from '@ibrest/order-safety';
import { AAPL, eventually, http, startStack, type Stack } from './helpers.js';

const PLACE_ORDER = 3;
const CANCEL_ORDER = 4;

describe('idempotency – Idempotency-Key on the order writes', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  const post = (key: string | undefined, json: unknown, headers: Record<string, string> = {}) =>
    http(`${s.url}/order`, {
      method: 'POST',
      json,
      headers: { ...(key ? { 'idempotency-key': key } : {}), ...headers },
    });
  const simOrdersWithRef = (ref: string) => s.sim.control.orders().filter((o) => o.orderRef === ref);
  const lmt = (price: number, qty = 1) => ({
    contract: AAPL,
    order: { action: 'BUY', totalQuantity: qty, orderType: 'LMT', lmtPrice: price },
  });

  it('a retry replays the first answer (Idempotent-Replayed), not reaching IB; orderRef carries the key', async () => {
    const first = await post('retry-1', lmt(101));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const placesBefore = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const again = await post('retry-1', lmt(101));
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, placesBefore);
    const atSim = simOrdersWithRef(orderRefForKey('retry-1'));
    assert.equal(atSim.length, 1);
    assert.equal(atSim[0]!.orderId, first.body.orderId);
  });

  it('concurrent requests with one key: one order, both get its answer', async () => {
    const [a, b, c] = await Promise.all([
      post('concurrent-1', lmt(102)),
      post('concurrent-1', lmt(102)),
      post('concurrent-1', lmt(102)),
    ]);
    for (const r of [a, b, c]) assert.equal(r!.status, 201, JSON.stringify(r!.body));
    assert.equal(new Set([a!.body.orderId, b!.body.orderId, c!.body.orderId]).size, 1);
    assert.equal([a, b, c].filter((r) => r!.headers.get('idempotent-replayed') === 'true').length, 2);
    assert.equal(simOrdersWithRef(orderRefForKey('concurrent-1')).length, 1);
  });

  it('same key, different body → 409 IDEMPOTENCY_KEY_REUSED; invalid key → 400', async () => {
    assert.equal((await post('reuse-1', lmt(103))).status, 201);
    const r = await post('reuse-1', lmt(104));
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(simOrdersWithRef(orderRefForKey('reuse-1')).length, 1);
    const bad = await post('k'.repeat(256), lmt(104));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'IDEMPOTENCY_KEY_INVALID');
    const metrics = (await http(`${s.url}/metrics`)).body as string;
    assert.match(metrics, /^ibworker_idempotency_conflicts_total [1-9]/m);
    assert.match(metrics, /^ibworker_idempotent_replays_total [1-9]/m);
  });

  it('a request refused before reaching IB releases its key (a corrected retry goes through)', async () => {
    const refused = await post('release-1', {
      contract: AAPL,
      order: { action: 'BUY', totalQuantity: 1, orderType: 'LMT' },
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    const fixed = await post('release-1', lmt(105));
    assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
    assert.equal(simOrdersWithRef(orderRefForKey('release-1')).length, 1);
  });

  it('an IB rejection is the answer: replayed, not re-sent', async () => {
    s.sim.control.rejectNext({ code: 201, text: 'Order rejected - reason: margin' });
    const r = await post('reject-1', lmt(106));
    assert.equal(r.status, 422, JSON.stringify(r.body));
    const places = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const again = await post('reject-1', lmt(106));
    assert.equal(again.status, 422);
    assert.equal(again.body.error.ibCode, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, places);
  });

  it('DELETE and PUT with a key: the retry replays without a second message to IB', async () => {
    const placed = await post(undefined, lmt(90, 2));
    const id = placed.body.orderId;
    const mod = await http(`${s.url}/order/${id}`, {
      method: 'PUT',
      json: { order: { lmtPrice: 91 } },
      headers: { 'idempotency-key': 'mod-1' },
    });
    assert.equal(mod.status, 200, JSON.stringify(mod.body));
    const places = s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length;
    const modAgain = await http(`${s.url}/order/${id}`, {
      method: 'PUT',
      json: { order: { lmtPrice: 91 } },
      headers: { 'idempotency-key': 'mod-1' },
    });
    assert.equal(modAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(s.sim.control.received({ clientId: 3, msgId: PLACE_ORDER }).length, places);
    const del = await http(`${s.url}/order/${id}`, { method: 'DELETE', headers: { 'idempotency-key': 'del-1' } });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const cancels = s.sim.control.received({ clientId: 3, msgId: CANCEL_ORDER }).length;
    const delAgain = await http(`${s.url}/order/${id}`, { method: 'DELETE', headers: { 'idempotency-key': 'del-1' } });
    assert.equal(delAgain.status, 200);
    assert.equal(delAgain.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(delAgain.body, del.body);
    assert.equal(s.sim.control.received({ clientId: 3, msgId: CANCEL_ORDER }).length, cancels);
  });

  it('keys are scoped by API key name (X-IBRest-Key): two callers never share an order', async () => {
    const a = await post('shared-1', lmt(107), { 'x-ibrest-key': 'alice' });
    const b = await post('shared-1', lmt(107), { 'x-ibrest-key': 'bob' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.orderId, b.body.orderId);
  });

  it('journal: accepted → sent → status, with the key; GET /order/events pages by cursor', async () => {
    const r = await post('journal-1', lmt(108));
    const id = r.body.orderId;
    const events = await eventually(
      async () => {
        const page = await http(`${s.url}/order/events?since=0&limit=1000`);
        const mine = page.body.events.filter((e: { orderId?: number }) => e.orderId === id);
        return mine.some((e: { type: string }) => e.type === 'status') ? { page, mine } : undefined;
      },
      3000,
      'journal status event',
    );
    const types = events!.mine.map((e: { type: string }) => e.type);
    assert.deepEqual(types.slice(0, 2), ['accepted', 'sent']);
    assert.equal(events!.mine[0].orderRef, orderRefForKey('journal-1'));
    assert.equal(events!.mine[0].idempotencyKey, 'journal-1');
    const cursors = events!.page.body.events.map((e: { cursor: number }) => e.cursor);
    assert.deepEqual(
      cursors,
      [...cursors].sort((x: number, y: number) => x - y),
    );
    const next = await http(`${s.url}/order/events?since=${cursors[1]}&limit=1`);
    assert.equal(next.body.events.length, 1);
    assert.equal(next.body.events[0].cursor, cursors[2]);
    assert.equal(next.body.nextCursor, cursors[2]);
  });

  it('GET /order/events as SSE resumes after Last-Event-ID and streams live; as Atom lists the page', async () => {
    const ac = new AbortController();
    const res = await fetch(`${s.url}/order/events?format=sse`, {
      headers: { 'last-event-id': '2' },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 3000;
      while (!re.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in ${text.slice(0, 300)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    await until(/^id: 3$/m);
    assert.ok(!/^id: [12]$/m.test(text), 'events up to Last-Event-ID are not repeated');
    const placed = await post(undefined, lmt(80));
    await until(
      new RegExp(
        `"orderId":${placed.body.orderId}[,}][^\\n]*"type":"sent"|` +
          `"type":"sent"[^\\n]*"orderId":${placed.body.orderId}[,}]`,
      ),
    );
    ac.abort();
    const atom = await fetch(`${s.url}/order/events?format=atom&limit=5`);
    assert.match(atom.headers.get('content-type') ?? '', /^application\/atom\+xml/);
    const xml = await atom.text();
    assert.match(xml, /^<\?xml/);
    assert.equal((xml.match(/<entry>/g) ?? []).length, 5);
  });
});
