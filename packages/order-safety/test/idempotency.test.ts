import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  canonicalJson,
  createIdempotencyStore,
  IdempotencyKeyInvalidError,
  IdempotencyKeyNotInFlightError,
  IdempotencyKeyReleasedError,
  isValidIdempotencyKey,
  orderRefForKey,
  requestHash,
  type BeginResult,
} from '../src/index.js';
import { manualClock, tempDir } from './helpers.js';

const HOUR = 60 * 60 * 1000;
const body = { contract: { symbol: 'AAPL', secType: 'STK' }, order: { action: 'BUY', totalQuantity: 10, orderType: 'LMT', lmtPrice: 190 } };
const hash = requestHash('POST', '/order', body);
const created = { status: 201, body: { orderId: 42, status: 'Submitted' } };

function kind(r: BeginResult): string {
  return r.kind;
}

describe('idempotency keys', () => {
  test('idempotency keys – printable ASCII, 1 to 255 characters', () => {
    const table: [unknown, boolean][] = [
      ['a', true],
      ['order-2025-01-06T12:00:00Z#1 with spaces ~!', true],
      ['x'.repeat(255), true],
      ['', false],
      ['x'.repeat(256), false],
      ['line\nbreak', false],
      ['tab\t', false],
      ['caf\u00e9', false],
      [42, false],
    ];
    for (const [key, valid] of table) assert.equal(isValidIdempotencyKey(key), valid, JSON.stringify(key));
    assert.throws(() => orderRefForKey(''), IdempotencyKeyInvalidError);
    assert.throws(() => orderRefForKey('x'.repeat(256)), (err: IdempotencyKeyInvalidError) => err.code === 'IDEMPOTENCY_KEY_INVALID' && err.status === 400);
  });

  test('idempotency keys – orderRef is short, prefixed and deterministic', () => {
    const ref = orderRefForKey('my-key-1');
    assert.match(ref, /^ik1-[0-9a-f]{24}$/);
    assert.equal(orderRefForKey('my-key-1'), ref);
    assert.notEqual(orderRefForKey('my-key-2'), ref);
    assert.equal(orderRefForKey('x'.repeat(255)).length, 28);
  });

  test('idempotency keys – canonical JSON ignores key order and undefined members', () => {
    assert.equal(canonicalJson({ b: 2, a: { d: [1, { z: 1, y: undefined }], c: null } }), '{"a":{"c":null,"d":[1,{"z":1}]},"b":2}');
    assert.equal(canonicalJson([undefined, 'x']), '[null,"x"]');
    assert.equal(requestHash('post', '/order', { b: 1, a: 2 }), requestHash('POST', '/order', { a: 2, b: 1 }));
    assert.notEqual(requestHash('POST', '/order', { a: 1 }), requestHash('PUT', '/order', { a: 1 }));
    assert.notEqual(requestHash('PUT', '/order/1', { a: 1 }), requestHash('PUT', '/order/2', { a: 1 }));
    assert.notEqual(requestHash('POST', '/order', { a: 1 }), requestHash('POST', '/order', { a: '1' }));
  });
});

describe('idempotency store', () => {
  test('idempotency store – new, then replay of the stored response, conflict on a different body, across a restart', async () => {
    const dir = await tempDir('idem');
    const store = await createIdempotencyStore({ dir });
    const first = await store.begin('k-1', hash, { apiKeyName: 'algo', method: 'POST' });
    assert.deepEqual(first, { kind: 'new', orderRef: orderRefForKey('k-1') });
    // Durable before 'new' resolves: the record is already in the file.
    assert.match(await readFile(join(dir, 'idempotency.jsonl'), 'utf8'), /"key":"k-1"/);
    await store.attachOrder('k-1', 42);
    await store.complete('k-1', created);
    assert.deepEqual(await store.begin('k-1', hash), { kind: 'replay', response: created });
    assert.deepEqual(await store.begin('k-1', requestHash('POST', '/order', { ...body, order: { ...body.order, totalQuantity: 11 } })), { kind: 'conflict' });
    await store.close();

    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(await reopened.begin('k-1', hash), { kind: 'replay', response: created });
    const record = reopened.get('k-1');
    assert.equal(record?.orderId, 42);
    assert.deepEqual(record?.meta, { apiKeyName: 'algo', method: 'POST' });
    await reopened.close();
  });

  test('idempotency store – 100 concurrent begin() with one key: exactly one new, the rest wait for its response', async () => {
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

  test('idempotency store – a key begun but never completed before a crash comes back as unknown-outcome, owned by one caller', async () => {
    const dir = await tempDir('idem-crash');
    const store = await createIdempotencyStore({ dir });
    assert.equal(kind(await store.begin('k-crash', hash)), 'new');
    await store.attachOrder('k-crash', 77);
    await store.close(); // the process dies here: nothing completed

    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(reopened.unresolved().map((r) => [r.key, r.orderId]), [['k-crash', 77]]);
    const [a, b] = await Promise.all([reopened.begin('k-crash', hash), reopened.begin('k-crash', hash)]);
    assert.deepEqual(a, { kind: 'unknown-outcome', orderId: 77, orderRef: orderRefForKey('k-crash') });
    assert.equal(b!.kind, 'in-flight');
    assert.deepEqual(reopened.unresolved(), []);
    const waited = (b as Extract<BeginResult, { kind: 'in-flight' }>).wait();
    const reconciled = { status: 200, body: { orderId: 77, status: 'Filled' } };
    await reopened.complete('k-crash', reconciled);
    assert.deepEqual(await waited, reconciled);
    assert.deepEqual(await reopened.begin('k-crash', hash), { kind: 'replay', response: reconciled });
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

  test('idempotency store – keys live for the TTL after their last change, then expire and are compacted away', async () => {
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
    const text = await readFile(join(dir, 'idempotency.jsonl'), 'utf8');
    assert.doesNotMatch(text, /"key":"young"/, 'expired keys are compacted out of the file');
    assert.equal(text.trimEnd().split('\n').length, 1);
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

  test('idempotency store – a torn last line is ignored on open', async () => {
    const dir = await tempDir('idem-torn');
    const store = await createIdempotencyStore({ dir });
    await store.begin('k', hash);
    await store.complete('k', created);
    await store.close();
    await appendFile(join(dir, 'idempotency.jsonl'), '{"op":"put","record":{"key":"k","hash":"zz');
    const reopened = await createIdempotencyStore({ dir });
    assert.deepEqual(await reopened.begin('k', hash), { kind: 'replay', response: created });
    await reopened.close();
  });

  test('idempotency store – invalid keys are refused with IDEMPOTENCY_KEY_INVALID', async () => {
    const dir = await tempDir('idem-invalid');
    const store = await createIdempotencyStore({ dir, fsync: false });
    await assert.rejects(store.begin('', hash), IdempotencyKeyInvalidError);
    await assert.rejects(store.begin('bad\u0000key', hash), IdempotencyKeyInvalidError);
    await store.close();
  });

  test('idempotency store – the file is compacted automatically as records are overwritten', async () => {
    const dir = await tempDir('idem-compact');
    const store = await createIdempotencyStore({ dir, fsync: false });
    await Promise.all(
      Array.from({ length: 700 }, async (_, i) => {
        await store.begin(`k${i}`, hash);
        await store.attachOrder(`k${i}`, i);
        await store.complete(`k${i}`, created);
      }),
    );
    await store.close();
    const lines = (await readFile(join(dir, 'idempotency.jsonl'), 'utf8')).trimEnd().split('\n').length;
    assert.ok(lines < 2100, `expected compaction below the 2100 lines written, got ${lines}`);
    const reopened = await createIdempotencyStore({ dir, fsync: false });
    assert.equal(reopened.size, 700);
    assert.equal(reopened.get('k699')?.orderId, 699);
    await reopened.close();
  });
});
