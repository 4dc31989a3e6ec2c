import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createOrderJournal, DataDirLockedError, type OrderEvent } from '../src/index.js';
import { eventually, manualClock, tempDir } from './helpers.js';

function assertGapFree(events: OrderEvent[], from = 1): void {
  events.forEach((e, i) => assert.equal(e.cursor, from + i, `cursor at index ${i}`));
}

describe('order journal', () => {
  test('order journal – appends get consecutive cursors, read/last see them, a restart continues them', async () => {
    const dir = await tempDir('journal');
    const clock = manualClock(Date.UTC(2025, 2, 3, 14, 30));
    const journal = await createOrderJournal({ dir, clock: clock.now });
    const a = await journal.append({ type: 'accepted', orderId: 7, idempotencyKey: 'k1', data: { symbol: 'AAPL' } });
    const b = await journal.append({ type: 'sent', orderId: 7 });
    const c = await journal.append({ type: 'status', orderId: 7, status: 'Submitted' });
    assert.deepEqual([a.cursor, b.cursor, c.cursor], [1, 2, 3]);
    assert.equal(a.time, '2025-03-03T14:30:00.000Z');
    assert.deepEqual(journal.last(), c);
    assert.deepEqual(await journal.read({ since: 1, limit: 1 }), [b]);
    assert.deepEqual(await journal.read({ since: 3 }), []);
    await journal.close();

    const reopened = await createOrderJournal({ dir });
    assert.equal(reopened.lastCursor, 3);
    assert.deepEqual(reopened.last(), c);
    assert.deepEqual(await reopened.read(), [a, b, c]);
    assert.equal((await reopened.append({ type: 'fill', orderId: 7, execId: 'e1' })).cursor, 4);
    await reopened.close();
  });

  test('order journal – find() looks events up by permId, orderRef and clientId + orderId', async () => {
    const dir = await tempDir('journal-find');
    const journal = await createOrderJournal({ dir, fsync: false });
    await journal.append({ type: 'accepted', orderId: 5, clientId: 0, orderRef: 'ik1-aaa' });
    await journal.append({ type: 'accepted', orderId: 5, clientId: 3 });
    await journal.append({ type: 'status', orderId: 5, clientId: 0, permId: 9001, status: 'Submitted' });
    assert.deepEqual(
      journal.find({ permId: 9001 }).map((e) => e.cursor),
      [3],
    );
    assert.deepEqual(
      journal.find({ orderRef: 'ik1-aaa' }).map((e) => e.cursor),
      [1],
    );
    assert.deepEqual(
      journal.find({ clientId: 0, orderId: 5 }).map((e) => e.cursor),
      [1, 3],
    );
    assert.deepEqual(
      journal.find({ clientId: 3, orderId: 5 }).map((e) => e.cursor),
      [2],
    );
    await journal.append({ type: 'sent', orderId: 5 });
    assert.deepEqual(
      journal.find({ clientId: 0, orderId: 5 }).map((e) => e.cursor),
      [1, 3, 4],
      'no clientId is 0',
    );
    await journal.append({ type: 'accepted', orderId: 70, clientId: 3 });
    assert.equal(journal.highestOrderId([0]), 5);
    assert.equal(journal.highestOrderId([0, 3]), 70);
    assert.equal(journal.highestOrderId([6]), 0);
    await journal.close();
  });

  test('order journal – cursors are never handed out again, even after rows were deleted', async () => {
    const dir = await tempDir('journal-deleted-rows');
    const journal = await createOrderJournal({ dir, fsync: false });
    for (let i = 0; i < 10; i++) await journal.append({ type: 'sent', orderId: i });
    await journal.close();
    // An operator prunes the newest rows by hand (the journal is closed; it holds the file exclusively when open).
    const db = new DatabaseSync(join(dir, 'orders.db'));
    db.exec('DELETE FROM log WHERE cursor > 7');
    db.close();
    const reopened = await createOrderJournal({ dir, fsync: false });
    assert.equal(reopened.lastCursor, 7);
    assert.equal((await reopened.append({ type: 'sent', orderId: 99 })).cursor, 11, 'cursors 8-10 are not reused');
    await reopened.close();
  });

  test('order journal – JSONL segments of earlier versions are migrated once, keeping their cursors', async () => {
    const dir = await tempDir('journal-migrate');
    const line = (cursor: number): string =>
      `${JSON.stringify({ cursor, time: 't', type: 'status', orderId: cursor, status: 'Submitted' })}\n`;
    await writeFile(join(dir, 'orders-0000000000000001.jsonl'), [1, 2, 3].map(line).join(''));
    // The last segment ends in a torn (never acknowledged) write: not migrated, not an error.
    await writeFile(join(dir, 'orders-0000000000000004.jsonl'), `${[4, 5].map(line).join('')}{"cursor":6,"ti`);
    const journal = await createOrderJournal({ dir });
    assert.equal(journal.openReport.migrated?.records, 5);
    assert.equal(journal.openReport.migrated?.tornBytes, 15);
    assert.equal(journal.lastCursor, 5);
    assertGapFree(await journal.read());
    assert.equal((await journal.append({ type: 'fill', orderId: 1, execId: 'e' })).cursor, 6);
    await journal.close();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.jsonl')),
      [],
      'old files renamed to *.migrated',
    );
    const again = await createOrderJournal({ dir });
    assert.equal(again.openReport.migrated, undefined);
    assert.equal(again.lastCursor, 6);
    await again.close();
  });

  test('order journal – a damaged line in the middle of an old segment refuses the migration', async () => {
    const dir = await tempDir('journal-migrate-bad');
    const line = (cursor: number): string =>
      `${JSON.stringify({ cursor, time: 't', type: 'sent', orderId: cursor })}\n`;
    await writeFile(join(dir, 'orders-0000000000000001.jsonl'), `${line(1)}{garbage\n${line(3)}`);
    await assert.rejects(createOrderJournal({ dir }), (err: Error) => {
      assert.match(err.message, /orders-0000000000000001\.jsonl is damaged \(line 2/);
      return true;
    });
    assert.ok((await readdir(dir)).includes('orders-0000000000000001.jsonl'), 'the file is left as it was');
  });

  test('order journal – concurrent appends share commits and keep call order', async () => {
    const dir = await tempDir('journal-group');
    const journal = await createOrderJournal({ dir });
    const n = 2000;
    const started = performance.now();
    const events = await Promise.all(
      Array.from({ length: n }, (_, i) => journal.append({ type: 'status', orderId: i, status: 'Submitted' })),
    );
    const seconds = (performance.now() - started) / 1000;
    events.forEach((e, i) => {
      assert.equal(e.cursor, i + 1);
      assert.equal(e.orderId, i);
    });
    assert.ok(journal.commitBatches < n / 4, `expected batching, got ${journal.commitBatches} syncs for ${n} appends`);
    const rate = Math.round(n / seconds);
    console.log(
      `order journal: ${n} fsynced appends (node:sqlite, WAL, synchronous=FULL) in ${seconds.toFixed(3)} s = ` +
        `${rate} appends/s, ${journal.commitBatches} commit batches`,
    );
    await journal.close();
  });

  test('order journal – subscribers see durable events in order; a since replay has no gaps or repeats', async () => {
    const dir = await tempDir('journal-sub');
    const journal = await createOrderJournal({ dir, fsync: false });
    for (let i = 0; i < 30; i++) await journal.append({ type: 'status', orderId: i });
    const live: number[] = [];
    const replayed: number[] = [];
    const stopLive = journal.subscribe((e) => live.push(e.cursor));
    const stopReplay = journal.subscribe((e) => replayed.push(e.cursor), { since: 10 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => journal.append({ type: 'fill', orderId: i })));
    await eventually(() => replayed.length === 40, 2000, 'replay to catch up');
    assert.deepEqual(
      live,
      Array.from({ length: 20 }, (_, i) => 31 + i),
    );
    assert.deepEqual(
      replayed,
      Array.from({ length: 40 }, (_, i) => 11 + i),
    );
    stopLive();
    stopReplay();
    await journal.append({ type: 'fill', orderId: 99 });
    assert.equal(live.length, 20, 'unsubscribed listener is not called');
    await journal.close();
  });

  test('order journal – a second writer on the same directory is refused', async () => {
    const dir = await tempDir('journal-lock');
    const journal = await createOrderJournal({ dir });
    await assert.rejects(createOrderJournal({ dir }), DataDirLockedError);
    await journal.close();
    const again = await createOrderJournal({ dir });
    await again.close();
  });

  test('order journal – rejects unknown event types', async () => {
    const dir = await tempDir('journal-type');
    const journal = await createOrderJournal({ dir, fsync: false });
    await assert.rejects(journal.append({ type: 'bogus' as 'sent' }), /expected an order event type/);
    await journal.close();
  });

  test('order journal – kill -9 at random points: no acknowledged event lost, cursors only grow', async () => {
    const dir = await tempDir('journal-kill');
    const script = fileURLToPath(new URL('./fixtures/journal-writer.js', import.meta.url));
    let highest = 0;
    const rounds = 6;
    const figures: { killAfter: number; acked: number; stored: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked = new Set<number>();
      let buffer = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) if (line.startsWith('acked ')) acked.add(Number(line.slice(6)));
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
      // A random kill point: after 1 to 400 acknowledged appends of this run.
      const killAfter = 1 + Math.floor(Math.random() * 400);
      await eventually(() => acked.size >= killAfter, 30_000, `the child to ack ${killAfter} appends`);
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');

      const journal = await createOrderJournal({ dir });
      const all: OrderEvent[] = [];
      for (let since = 0; ;) {
        const page = await journal.read({ since, limit: 5000 });
        if (page.length === 0) break;
        all.push(...page);
        since = page[page.length - 1]!.cursor;
      }
      const stored = new Set(all.map((e) => e.cursor));
      for (const cursor of acked) assert.ok(stored.has(cursor), `round ${round}: acknowledged cursor ${cursor} lost`);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.cursor > all[i - 1]!.cursor, 'cursors strictly increase');
      assertGapFree(all);
      assert.ok(journal.lastCursor >= highest, `round ${round}: cursor went back from ${highest}`);
      const next = await journal.append({ type: 'sent', orderId: round });
      assert.equal(next.cursor, journal.lastCursor);
      assert.ok(next.cursor > Math.max(highest, ...acked), 'a new cursor is above every acknowledged one');
      highest = next.cursor;
      figures.push({ killAfter, acked: acked.size, stored: all.length });
      await journal.close();
    }
    console.log(`STORAGE_FIGURES ${JSON.stringify({ scenario: 'kill-9 rounds', rounds: figures })}`);
  });
});
