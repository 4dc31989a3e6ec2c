import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createOrderJournal, DataDirLockedError, type OrderEvent } from '../src/index.js';
import { eventually, manualClock, tempDir } from './helpers.js';

function assertGapFree(events: OrderEvent[], from = 1): void {
  events.forEach((e, i) => assert.equal(e.cursor, from + i, `cursor at index ${i}`));
}

describe('order journal', () => {
  test('order journal – appends get consecutive cursors, read/last see them, restart continues the sequence', async () => {
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

  test('order journal – a torn last line after a crash is cut off on open and its cursor is reused by nobody else', async () => {
    const dir = await tempDir('journal-torn');
    const journal = await createOrderJournal({ dir });
    for (let i = 0; i < 3; i++) await journal.append({ type: 'status', orderId: 1, status: 'Submitted' });
    await journal.close();
    const [segment] = (await readdir(dir)).filter((n) => n.endsWith('.jsonl'));
    const path = join(dir, segment!);
    const cleanSize = (await stat(path)).size;
    // What a crash mid-write leaves: half a record, then zero bytes from a size-extended but unwritten block.
    const torn = Buffer.concat([Buffer.from('{"cursor":4,"time":"2025-01-0'), Buffer.alloc(32)]);
    await appendFile(path, torn);

    const reopened = await createOrderJournal({ dir });
    assert.equal(reopened.openReport.tornBytes, torn.length);
    assert.equal((await stat(path)).size, cleanSize, 'the torn tail is truncated');
    assert.equal(reopened.lastCursor, 3);
    const next = await reopened.append({ type: 'fill', orderId: 1, execId: 'x' });
    assert.equal(next.cursor, 4);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as OrderEvent);
    assertGapFree(lines);
    await reopened.close();
  });

  test('order journal – a valid-looking line after a broken one is discarded too (never acknowledged)', async () => {
    const dir = await tempDir('journal-mid');
    const journal = await createOrderJournal({ dir });
    await journal.append({ type: 'accepted', orderId: 1 });
    await journal.close();
    const [segment] = (await readdir(dir)).filter((n) => n.endsWith('.jsonl'));
    await appendFile(join(dir, segment!), 'garbage\n{"cursor":3,"time":"t","type":"sent"}\n{"cursor":2,"time":"t","type":"sent"}\n');
    const reopened = await createOrderJournal({ dir });
    assert.equal(reopened.lastCursor, 1);
    assert.equal((await reopened.read()).length, 1);
    await reopened.close();
  });

  test('order journal – segments rotate, reads cross segment boundaries, and a restart keeps them all', async () => {
    const dir = await tempDir('journal-seg');
    const journal = await createOrderJournal({ dir, maxSegmentBytes: 1024 });
    for (let i = 0; i < 120; i++) await journal.append({ type: 'status', orderId: i, status: 'Submitted' });
    await journal.close();
    const segments = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
    assert.ok(segments.length > 5, `expected several segments, got ${segments.length}`);
    assert.equal(segments[0], 'orders-0000000000000001.jsonl');

    const reopened = await createOrderJournal({ dir, maxSegmentBytes: 1024 });
    assert.equal(reopened.openReport.segments, segments.length);
    assertGapFree(await reopened.read({ limit: 1000 }));
    const middle = await reopened.read({ since: 37, limit: 50 });
    assert.equal(middle.length, 50);
    assertGapFree(middle, 38);
    assert.equal((await reopened.append({ type: 'cancelled', orderId: 1 })).cursor, 121);
    await reopened.close();
  });

  test('order journal – concurrent appends are group-committed and keep call order', async () => {
    const dir = await tempDir('journal-group');
    const journal = await createOrderJournal({ dir });
    const n = 2000;
    const started = performance.now();
    const events = await Promise.all(Array.from({ length: n }, (_, i) => journal.append({ type: 'status', orderId: i, status: 'Submitted' })));
    const seconds = (performance.now() - started) / 1000;
    events.forEach((e, i) => {
      assert.equal(e.cursor, i + 1);
      assert.equal(e.orderId, i);
    });
    assert.ok(journal.commitBatches < n / 4, `expected batching, got ${journal.commitBatches} syncs for ${n} appends`);
    console.log(`order journal: ${n} fsynced appends in ${seconds.toFixed(3)} s = ${Math.round(n / seconds)} appends/s, ${journal.commitBatches} commit batches`);
    await journal.close();
  });

  test('order journal – subscribers see durable events in order; since replays stored events without gaps or duplicates', async () => {
    const dir = await tempDir('journal-sub');
    const journal = await createOrderJournal({ dir, fsync: false });
    for (let i = 0; i < 30; i++) await journal.append({ type: 'status', orderId: i });
    const live: number[] = [];
    const replayed: number[] = [];
    const stopLive = journal.subscribe((e) => live.push(e.cursor));
    const stopReplay = journal.subscribe((e) => replayed.push(e.cursor), { since: 10 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => journal.append({ type: 'fill', orderId: i })));
    await eventually(() => replayed.length === 40, 2000, 'replay to catch up');
    assert.deepEqual(live, Array.from({ length: 20 }, (_, i) => 31 + i));
    assert.deepEqual(replayed, Array.from({ length: 40 }, (_, i) => 11 + i));
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

  test('order journal – kill -9 of a writer leaves a consistent prefix with every acknowledged event', async () => {
    const dir = await tempDir('journal-kill');
    const script = fileURLToPath(new URL('./fixtures/journal-writer.js', import.meta.url));
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('acked ')) acked = Math.max(acked, Number(line.slice(6)));
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await eventually(() => acked >= 300, 15_000, 'the child to ack 300 appends');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const ackedBeforeKill = acked;

    const journal = await createOrderJournal({ dir, maxSegmentBytes: 4096 });
    assert.ok(journal.lastCursor >= ackedBeforeKill, `lost acknowledged events: last ${journal.lastCursor} < acked ${ackedBeforeKill}`);
    const all: OrderEvent[] = [];
    for (let since = 0; ; ) {
      const page = await journal.read({ since, limit: 500 });
      if (page.length === 0) break;
      all.push(...page);
      since = page[page.length - 1]!.cursor;
    }
    assert.equal(all.length, journal.lastCursor);
    assertGapFree(all);
    assert.equal((await journal.append({ type: 'sent', orderId: 1 })).cursor, journal.lastCursor);
    console.log(`order journal: child acked ${ackedBeforeKill} before SIGKILL, ${all.length} recovered, torn tail ${journal.openReport.tornBytes} bytes`);
    await journal.close();
  });
});
