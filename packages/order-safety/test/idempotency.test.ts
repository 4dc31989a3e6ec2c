import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  canonicalJson,
  createIdempotencyStore,
  IdempotencyKeyInvalidError,
  IdempotencyKeyNotInFlightError,
  IdempotencyKeyReleasedError,
  IdempotencyAnswerNotFinalError,
  isValidIdempotencyKey,
  parseIdempotencyKey,
  orderRefForKey,
  requestHash,
  type BeginResult,
} from '../src/index.js';
import { manualClock, tempDir } from './helpers.js';

const HOUR = 60 * 60 * 1000;
const body = {
  contract: { symbol: 'AAPL', secType: 'STK' },
  order: { action: 'BUY', totalQuantity: 10, orderType: 'LMT', lmtPrice: 190 },
};
const hash = requestHash('POST', '/order', body);
const created = { status: 201, body: { orderId: 42, status: 'Submitted' } };

function kind(r: BeginResult): string {
  return r.kind;
}

/** The replayed response, or the kind when it is not a replay. */
function replayed(r: BeginResult): unknown {
  return r.kind === 'replay' ? r.response : r.kind;
}

describe('idempotency keys', () => {
  test('idempotency keys – printable ASCII, 1 to 255 characters', () => {
    const table: [unknown, boolean][] = [
      ['a', true],
      ['order-2025-01-06T12:00:00Z#1 with spaces ~!', true],
      ['x'.repeat(255), true],
      ['', false],
      [' leading', false],
      ['trailing ', false],
      ['   ', false],
      ['x'.repeat(256), false],
      ['line\nbreak', false],
      ['tab\t', false],
      ['caf\u00e9', false],
      [42, false],
    ];
    for (const [key, valid] of table) assert.equal(isValidIdempotencyKey(key), valid, JSON.stringify(key));
    assert.throws(() => orderRefForKey(''), IdempotencyKeyInvalidError);
    assert.throws(
      () => orderRefForKey('x'.repeat(256)),
      (err: IdempotencyKeyInvalidError) => err.code === 'IDEMPOTENCY_KEY_INVALID' && err.status === 400,
    );
  });

  test('idempotency keys – the header is trimmed, checked, and refused when sent twice', () => {
    assert.equal(parseIdempotencyKey(['Host', 'x', 'Idempotency-Key', '  k-1 ']), 'k-1');
    assert.equal(parseIdempotencyKey(['Host', 'x']), undefined);
    assert.equal(parseIdempotencyKey({ 'idempotency-key': ['abc'] }), 'abc');
    const invalid = (err: IdempotencyKeyInvalidError): boolean =>
      err.status === 400 &&
      err.code === 'IDEMPOTENCY_KEY_INVALID' &&
      /Idempotency-Key/.test(err.message) &&
      (err.details as { header?: string }).header === 'Idempotency-Key';
    for (const value of ['', '   ', 'x'.repeat(256), 'caf\u00e9', 'a\u0001b']) {
      assert.throws(() => parseIdempotencyKey(['idempotency-key', value]), invalid, JSON.stringify(value));
    }
    assert.throws(
      () => parseIdempotencyKey(['Idempotency-Key', 'a', 'idempotency-key', 'a']),
      (err: Error) => invalid(err as never) && /one Idempotency-Key header, got 2/.test(err.message),
    );
    assert.throws(() => parseIdempotencyKey({ 'idempotency-key': ['a', 'b'] }), invalid);
  });

  test('idempotency keys – the fingerprint covers the query (wait included, timeout not)', () => {
    const base = requestHash('DELETE', '/order', null, new URLSearchParams('orderId=15'));
    assert.notEqual(base, requestHash('DELETE', '/order', null, new URLSearchParams('orderId=16')));
    assert.notEqual(requestHash('POST', '/order', body, { wait: 'filled' }), requestHash('POST', '/order', body, {}));
    type Query = URLSearchParams | Record<string, string>;
    const post = (query?: Query): string => requestHash('POST', '/order', body, query);
    assert.equal(post({ wait: 'filled', timeout: '5' }), post({ wait: 'filled', timeout: '30' }));
    assert.equal(post(new URLSearchParams('b=2&a=1')), post({ a: '1', b: '2' }));
    assert.equal(post({}), post(), 'no query hashes as before');
  });

  test('idempotency keys – orderRef is short, prefixed and deterministic', () => {
    const ref = orderRefForKey('my-key-1');
    assert.match(ref, /^ik1-[0-9a-f]{24}$/);
    assert.equal(orderRefForKey('my-key-1'), ref);
    assert.notEqual(orderRefForKey('my-key-2'), ref);
    assert.equal(orderRefForKey('x'.repeat(255)).length, 28);
  });

  test('idempotency keys – canonical JSON ignores key order and undefined members', () => {
    assert.equal(
      canonicalJson({ b: 2, a: { d: [1, { z: 1, y: undefined }], c: null } }),
      '{"a":{"c":null,"d":[1,{"z":1}]},"b":2}',
    );
    assert.equal(canonicalJson([undefined, 'x']), '[null,"x"]');
    assert.equal(requestHash('post', '/order', { b: 1, a: 2 }), requestHash('POST', '/order', { a: 2, b: 1 }));
    assert.notEqual(requestHash('POST', '/order', { a: 1 }), requestHash('PUT', '/order', { a: 1 }));
    assert.notEqual(requestHash('PUT', '/order/1', { a: 1 }), requestHash('PUT', '/order/2', { a: 1 }));
    assert.notEqual(requestHash('POST', '/order', { a: 1 }), requestHash('POST', '/order', { a: '1' }));
  });
});

describe('idempotency store', () => {
  test('idempotency store – new, stored response replayed, another body conflicts, across a restart', async () => {
    const dir = await tempDir('idem');
    const store = await createIdempotencyStore({ dir });
    const first = await store.begin('k-1', hash, { apiKeyName: 'algo', method: 'POST' });
    assert.deepEqual(first, { kind: 'new', orderRef: orderRefForKey('k-1') });
    assert.equal(store.get('k-1')?.orderRef, orderRefForKey('k-1'), 'stored before new resolves');
    await store.attachOrder('k-1', 42);
    await store.complete('k-1', created);
    assert.deepEqual(replayed(await store.begin('k-1', hash)), created);
    assert.deepEqual(
      await store.begin('k-1', requestHash('POST', '/order', { ...body, order: { ...body.order, totalQuantity: 11 } })),
      { kind: 'conflict' },
    );
    await store.close();

    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(replayed(await reopened.begin('k-1', hash)), created);
    const record = reopened.get('k-1');
    assert.equal(record?.orderId, 42);
    assert.deepEqual(record?.meta, { apiKeyName: 'algo', method: 'POST' });
    await reopened.close();
  });

  test('idempotency store – 100 concurrent begin() of a key: exactly one new, 99 await its response', async () => {
    const dir = await tempDir('idem-race');
    const store = await createIdempotencyStore({ dir });
    const results = await Promise.all(Array.from({ length: 100 }, () => store.begin('same', hash)));
    assert.equal(results.filter((r) => r.kind === 'new').length, 1);
    const waiting = results.filter((r): r is Extract<BeginResult, { kind: 'in-flight' }> => r.kind === 'in-flight');
    assert.equal(waiting.length, 99);
    const responses = Promise.all(waiting.map((r) => r.wait()));
    await store.complete('same', created);
    assert.deepEqual(await responses, Array(99).fill(created));
    await store.close();
  });

  test('idempotency store – a key left open by a crash returns as unknown-outcome, owned by one caller', async () => {
    const dir = await tempDir('idem-crash');
    const store = await createIdempotencyStore({ dir });
    assert.equal(kind(await store.begin('k-crash', hash)), 'new');
    await store.attachOrder('k-crash', 77);
    await store.close(); // the process dies here: nothing completed

    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(
      reopened.unresolved().map((r) => [r.key, r.orderId]),
      [['k-crash', 77]],
    );
    const [a, b] = await Promise.all([reopened.begin('k-crash', hash), reopened.begin('k-crash', hash)]);
    assert.equal(a!.kind, 'unknown-outcome');
    const outcome = a as Extract<BeginResult, { kind: 'unknown-outcome' }>;
    assert.deepEqual([outcome.orderId, outcome.orderRef], [77, orderRefForKey('k-crash')]);
    assert.equal(b!.kind, 'in-flight');
    assert.deepEqual(reopened.unresolved(), []);
    const waited = (b as Extract<BeginResult, { kind: 'in-flight' }>).wait();
    const reconciled = { status: 200, body: { orderId: 77, status: 'Filled' } };
    await reopened.complete('k-crash', reconciled);
    assert.deepEqual(await waited, reconciled);
    assert.deepEqual(replayed(await reopened.begin('k-crash', hash)), reconciled);
    assert.equal(kind(await reopened.begin('k-crash', 'other-hash')), 'conflict');
    await reopened.close();
  });

  test('idempotency store – release() frees a key that never reached IB; waiters are told to retry', async () => {
    const dir = await tempDir('idem-release');
    const store = await createIdempotencyStore({ dir });
    assert.equal(kind(await store.begin('k-r', hash)), 'new');
    const dup = await store.begin('k-r', hash);
    assert.equal(dup.kind, 'in-flight');
    const waited = (dup as Extract<BeginResult, { kind: 'in-flight' }>).wait();
    await store.release('k-r');
    await assert.rejects(waited, IdempotencyKeyReleasedError);
    await assert.rejects(store.complete('k-r', created), IdempotencyKeyNotInFlightError);
    await store.close();
    const reopened = await createIdempotencyStore({ dir });
    assert.equal(kind(await reopened.begin('k-r', hash)), 'new', 'the release survived the restart');
    await reopened.close();
  });

  test('idempotency store – keys live the TTL past their last change, then expire and are compacted', async () => {
    const dir = await tempDir('idem-ttl');
    const clock = manualClock();
    const store = await createIdempotencyStore({ dir, clock: clock.now });
    await store.begin('old', hash);
    clock.advance(HOUR);
    await store.complete('old', created);
    await store.begin('young', hash);
    await store.complete('young', created);
    clock.advance(24 * HOUR - 1);
    assert.equal(kind(await store.begin('old', hash)), 'replay', 'kept 24 h after completion');
    clock.advance(1);
    assert.equal(store.size, 0);
    assert.equal(kind(await store.begin('old', 'new-hash')), 'new', 'expired: reusable, even with another body');
    await store.close();

    clock.advance(23 * HOUR);
    const reopened = await createIdempotencyStore({ dir, clock: clock.now });
    assert.equal(reopened.size, 1, 'only the re-begun key, which is still inside its TTL');
    await reopened.compact();
    assert.equal(reopened.get('young'), undefined, 'expired keys are deleted');
    await reopened.close();
  });

  test('idempotency store – an in-flight key never expires under its owner', async () => {
    const dir = await tempDir('idem-inflight');
    const clock = manualClock();
    const store = await createIdempotencyStore({ dir, clock: clock.now, fsync: false });
    await store.begin('slow', hash);
    clock.advance(48 * HOUR);
    assert.equal(kind(await store.begin('slow', hash)), 'in-flight');
    await store.complete('slow', created);
    assert.equal(kind(await store.begin('slow', hash)), 'replay');
    await store.close();
  });

  test('idempotency store – idempotency.jsonl is migrated once; a torn last line is not', async () => {
    const dir = await tempDir('idem-migrate');
    const now = Date.now();
    const ref = orderRefForKey;
    const rec = (key: string, extra: object = {}): string =>
      `${JSON.stringify({ op: 'put', record: { key, hash, orderRef: ref(key), beganAt: now, ...extra } })}\n`;
    await writeFile(
      join(dir, 'idempotency.jsonl'),
      rec('a', { orderId: 1 }) +
        rec('b', { response: created, completedAt: now }) +
        rec('c') +
        `${JSON.stringify({ op: 'delete', key: 'c' })}\n{"op":"put","record":{"key":"k","hash":"zz`,
    );
    const store = await createIdempotencyStore({ dir });
    assert.equal(store.openReport.migrated?.records, 2);
    assert.equal(kind(await store.begin('a', hash)), 'unknown-outcome');
    assert.deepEqual(replayed(await store.begin('b', hash)), created);
    assert.equal(kind(await store.begin('c', hash)), 'new');
    await store.close();
  });

  test('idempotency store – a 5xx is never final: park() keeps the key open, settle/release decide', async () => {
    const dir = await tempDir('idem-park');
    const store = await createIdempotencyStore({ dir });
    const timeout = { status: 504, body: { error: { code: 'DEADLINE_EXCEEDED' } } };
    assert.equal(kind(await store.begin('p', hash)), 'new');
    await store.attachOrder('p', 12, { clientId: 0 });
    const dup = (await store.begin('p', hash)) as Extract<BeginResult, { kind: 'in-flight' }>;
    const waited = dup.wait();
    await assert.rejects(store.complete('p', timeout), IdempotencyAnswerNotFinalError);
    store.park('p', timeout);
    assert.deepEqual(await waited, timeout, 'the duplicate hears the transient answer');
    assert.deepEqual(
      store.unresolved().map((r) => r.key),
      ['p'],
      'parked keys wait for evidence',
    );
    // IB's evidence arrives later (permId, Submitted): the key follows its order.
    await store.attachOrder('p', 12, { permId: 555 });
    await store.settle('p', created);
    assert.deepEqual(replayed(await store.begin('p', hash)), created);
    assert.equal(store.get('p')?.permId, 555);
    assert.equal(store.getByOrderRef(orderRefForKey('p'))?.key, 'p');
    await assert.rejects(store.release('p'), IdempotencyKeyNotInFlightError, 'an answered key cannot be released');
    await assert.rejects(store.settle('p', timeout), IdempotencyAnswerNotFinalError);

    // A parked key whose order IB never saw is released, so the retry places it.
    assert.equal(kind(await store.begin('q', hash)), 'new');
    store.park('q');
    await store.close();
    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(
      reopened.unresolved().map((r) => r.key),
      ['q'],
    );
    await reopened.release('q');
    assert.equal(kind(await reopened.begin('q', hash)), 'new');
    await reopened.close();
  });

  test('idempotency store – invalid keys are refused with IDEMPOTENCY_KEY_INVALID', async () => {
    const dir = await tempDir('idem-invalid');
    const store = await createIdempotencyStore({ dir, fsync: false });
    await assert.rejects(store.begin('', hash), IdempotencyKeyInvalidError);
    await assert.rejects(store.begin('bad\u0000key', hash), IdempotencyKeyInvalidError);
    await store.close();
  });

  test('idempotency store – many keys at once share commits and survive a restart', async () => {
    const dir = await tempDir('idem-many');
    const store = await createIdempotencyStore({ dir, fsync: false });
    await Promise.all(
      Array.from({ length: 700 }, async (_, i) => {
        await store.begin(`k${i}`, hash);
        await store.attachOrder(`k${i}`, i);
        await store.complete(`k${i}`, created);
      }),
    );
    await store.close();
    const reopened = await createIdempotencyStore({ dir, fsync: false });
    assert.equal(reopened.size, 700);
    assert.equal(reopened.get('k699')?.orderId, 699);
    await reopened.close();
  });
});
