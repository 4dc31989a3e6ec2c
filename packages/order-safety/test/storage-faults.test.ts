import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createAuditLog,
  createIdempotencyStore,
  createOrderJournal,
  DataDirLockedError,
  LogUnavailableError,
  requestHash,
  StorageCorruptError,
  type OrderEvent,
  type OrderJournal,
  type StorageHealth,
} from '../src/index.js';
import { eventually, tempDir } from './helpers.js';

const hash = requestHash('POST', '/order', { a: 1 });
const created = { status: 201, body: { orderId: 1 } };
const fast = { probeIntervalMs: 50, identityIntervalMs: 50 };

/** Flips one byte of `file` at `offset`. */
function flip(file: string, offset: number): void {
  const buf = readFileSync(file);
  buf[offset] = buf[offset]! ^ 0xff;
  writeFileSync(file, buf);
}

async function allEvents(journal: Pick<OrderJournal, 'read'>): Promise<OrderEvent[]> {
  const out: OrderEvent[] = [];
  for (let since = 0; ;) {
    const page = await journal.read({ since, limit: 5000 });
    if (page.length === 0) return out;
    out.push(...page);
    since = page[page.length - 1]!.cursor;
  }
}

/** Runs a writer child on `dir`, kills it with SIGKILL after `acks` acknowledged appends; returns the acked cursors. */
async function killWriterAfter(dir: string, acks: number): Promise<Set<number>> {
  const script = fileURLToPath(new URL('./fixtures/journal-writer.js', import.meta.url));
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
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await eventually(() => acked.size >= acks, 30_000, `${acks} acknowledged appends`);
  child.kill('SIGKILL');
  await exited;
  return acked;
}

describe('storage faults', () => {
  test('storage faults – a damaged row in the middle of the journal refuses the start, naming the file', async () => {
    const dir = await tempDir('fault-row');
    const journal = await createOrderJournal({ dir });
    for (let i = 0; i < 500; i++) {
      await journal.append({ type: 'status', orderId: i, status: 'Submitted', data: { marker: `m-${i}-m` } });
    }
    await journal.close();
    const file = join(dir, 'orders.db');
    const offset = readFileSync(file).indexOf('m-250-m');
    assert.ok(offset > 0, 'the marker is in the file');
    flip(file, offset + 2);
    await assert.rejects(createOrderJournal({ dir }), (err: Error) => {
      assert.ok(err instanceof StorageCorruptError, String(err));
      assert.ok(err.message.includes(file), `the error names ${file}: ${err.message}`);
      assert.match(err.message, /Refusing to start/);
      return true;
    });
    assert.equal(statSync(file).size > 0, true, 'nothing was truncated');
  });

  test('storage faults – a damaged b-tree page in the middle refuses the start (journal, idempotency)', async () => {
    const dir = await tempDir('fault-page');
    const journal = await createOrderJournal({ dir });
    const store = await createIdempotencyStore({ dir });
    const pad = 'x'.repeat(200);
    const sent = (orderId: number): Promise<OrderEvent> => journal.append({ type: 'sent', orderId, data: { pad } });
    await Promise.all(Array.from({ length: 400 }, (_, orderId) => sent(orderId)));
    for (let i = 0; i < 300; i++) {
      await store.begin(`key-${i}`, hash);
      await store.complete(`key-${i}`, created);
    }
    await Promise.all([journal.close(), store.close()]);
    for (const [name, open] of [
      ['orders.db', () => createOrderJournal({ dir })],
      ['idempotency.db', () => createIdempotencyStore({ dir })],
    ] as const) {
      const file = join(dir, name);
      const pages = statSync(file).size / 4096;
      assert.ok(pages > 6, `${name} has ${pages} pages`);
      // Byte 0 of a b-tree page is its type (2, 5, 10 or 13); anything else is damage SQLite must see.
      writeAt(file, Math.floor(pages / 2) * 4096, Buffer.from([0x63]));
      await assert.rejects(open(), (err: Error) => err instanceof StorageCorruptError && err.message.includes(file));
    }
  });

  test('storage faults – a torn final write (garbage after the last WAL commit) loses nothing', async () => {
    const dir = await tempDir('fault-torn');
    const acked = await killWriterAfter(dir, 200);
    const wal = join(dir, 'orders.db-wal');
    assert.ok(statSync(wal).size > 0, 'the killed writer left a WAL');
    appendFileSync(wal, randomBytes(5000));
    const journal = await createOrderJournal({ dir });
    assert.equal(journal.openReport.recoveredWal, true);
    const events = await allEvents(journal);
    const stored = new Set(events.map((e) => e.cursor));
    for (const c of acked) assert.ok(stored.has(c), `acknowledged cursor ${c} kept`);
    const next = await journal.append({ type: 'sent', orderId: 1 });
    assert.equal(next.cursor, events.at(-1)!.cursor + 1);
    await journal.close();
  });

  test('storage faults – a WAL cut inside its last frame loses only that commit; cursors continue', async () => {
    const dir = await tempDir('fault-cut');
    await killWriterAfter(dir, 200);
    const wal = join(dir, 'orders.db-wal');
    truncateSync(wal, statSync(wal).size - 1000);
    const journal = await createOrderJournal({ dir });
    const events = await allEvents(journal);
    assert.ok(events.length > 0);
    events.forEach((e, i) => assert.equal(e.cursor, i + 1));
    assert.equal((await journal.append({ type: 'sent', orderId: 1 })).cursor, events.length + 1);
    await journal.close();
  });

  test('storage faults – a deleted database file is noticed while running: writes refused, health why', async () => {
    const dir = await tempDir('fault-deleted');
    const journal = await createOrderJournal({ dir, ...fast });
    const store = await createIdempotencyStore({ dir, ...fast });
    await journal.append({ type: 'sent', orderId: 1 });
    const changes: StorageHealth[] = [];
    journal.onHealthChange((h) => changes.push(h));
    unlinkSync(join(dir, 'orders.db'));
    const deletedAt = performance.now();
    await eventually(() => !journal.isWritable(), 3000, 'the deletion to be noticed');
    const noticedMs = Math.round(performance.now() - deletedAt);
    console.log(`STORAGE_FIGURES ${JSON.stringify({ scenario: 'file deleted', noticedMs, identityIntervalMs: 50 })}`);
    assert.match(journal.health().reason ?? '', /orders\.db was deleted or replaced/);
    assert.deepEqual(
      changes.map((h) => h.ok),
      [false],
    );
    await assert.rejects(journal.append({ type: 'sent', orderId: 2 }), LogUnavailableError);
    assert.equal(store.isWritable(), true, 'the other file is unaffected');
    assert.deepEqual(
      (await journal.read()).map((e) => e.cursor),
      [1],
      'reads still answer from the open file',
    );
    await Promise.all([journal.close(), store.close()]);
  });

  test('storage faults – a deleted WAL (commits not yet checkpointed) is noticed while running', async () => {
    const dir = await tempDir('fault-wal-deleted');
    const journal = await createOrderJournal({ dir, ...fast });
    await journal.append({ type: 'sent', orderId: 1 });
    unlinkSync(join(dir, 'orders.db-wal'));
    await eventually(() => !journal.isWritable(), 3000, 'the WAL deletion to be noticed');
    assert.match(journal.health().reason ?? '', /orders\.db-wal was deleted or replaced/);
    await assert.rejects(journal.append({ type: 'sent', orderId: 2 }), LogUnavailableError);
    await journal.close();
  });

  test('storage faults – a replaced data directory is noticed while running, by every part', async () => {
    const parent = await tempDir('fault-dir');
    const dir = join(parent, 'data');
    mkdirSync(dir);
    const journal = await createOrderJournal({ dir, ...fast });
    const store = await createIdempotencyStore({ dir, ...fast });
    const audit = await createAuditLog({ dir, ...fast });
    await store.begin('k', hash);
    renameSync(dir, join(parent, 'data.old'));
    mkdirSync(dir);
    const noticed = (): boolean => !journal.isWritable() && !store.isWritable() && !audit.isWritable();
    await eventually(noticed, 3000, 'all parts to notice');
    await assert.rejects(store.begin('k2', hash), LogUnavailableError);
    await Promise.all([journal.close(), store.close(), audit.close()]);
  });

  test('storage faults – a live owner keeps its files; after its kill -9 the next open takes them', async () => {
    const dir = await tempDir('fault-lock');
    const script = fileURLToPath(new URL('./fixtures/hold-open.js', import.meta.url));
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => (b.toString().includes('ready') ? resolve() : undefined));
      child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    const opens = [createOrderJournal, createIdempotencyStore, createAuditLog].map((create) => () => create({ dir }));
    for (const open of opens) {
      const holder = `process ${child.pid}`;
      await assert.rejects(open(), (err: Error) => err instanceof DataDirLockedError && err.message.includes(holder));
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The kernel dropped the dead owner's lock: no stale lock to clean, no DATA_DIR_LOCKED.
    const journal = await createOrderJournal({ dir });
    const store = await createIdempotencyStore({ dir });
    const audit = await createAuditLog({ dir });
    assert.equal(JSON.parse(readFileSync(join(dir, 'orders.db.owner'), 'utf8')).pid, process.pid);
    await Promise.all([journal.close(), store.close(), audit.close()]);
  });

  test('storage faults – a full disk fails closed, never crashes, and recovers by itself with space', async (t) => {
    // Not tempDir(): the filesystem must be unmounted before its mount point is removed.
    const base = mkdtempSync(join(tmpdir(), 'ibrest-fault-full-'));
    const mnt = join(base, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      rmSync(base, { recursive: true, force: true });
      t.skip(`cannot mount a small tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    t.after(() => {
      execFileSync('umount', ['-l', mnt]);
      rmSync(base, { recursive: true, force: true });
    });
    const dir = join(mnt, 'data');
    const filler = join(mnt, 'filler');
    const fill = (): void => {
      const fd = openSync(filler, 'a');
      try {
        for (;;) writeSync(fd, Buffer.alloc(64 * 1024));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
    };
    let journal = await createOrderJournal({ dir, ...fast });
    let store = await createIdempotencyStore({ dir, ...fast });
    const acked: number[] = [];
    for (let i = 0; i < 50; i++) acked.push((await journal.append({ type: 'sent', orderId: i })).cursor);
    const health: boolean[] = [];
    journal.onHealthChange((h) => health.push(h.ok));
    fill();
    // Writes fail (SQLITE_FULL) with a 503-class error; nothing throws out of the process.
    let failure: unknown;
    for (let i = 0; i < 500 && failure === undefined; i++) {
      await journal.append({ type: 'status', orderId: i, data: { pad: 'y'.repeat(2000) } }).then(
        (e) => acked.push(e.cursor),
        (err: unknown) => (failure = err),
      );
    }
    assert.ok(failure instanceof LogUnavailableError, `expected LogUnavailableError, got ${String(failure)}`);
    assert.equal(failure.status, 503);
    assert.equal(journal.isWritable(), false);
    assert.match(journal.health().reason ?? '', /full|disk|I\/O/i);
    await assert.rejects(store.begin('while-full', hash), LogUnavailableError);
    assert.ok((await journal.read({ since: 0, limit: 10 })).length > 0, 'reads keep working');

    // A restart on the full disk starts (no space needed), reports the failure, and refuses writes.
    await Promise.all([journal.close(), store.close()]);
    journal = await createOrderJournal({ dir, ...fast });
    store = await createIdempotencyStore({ dir, ...fast });
    assert.equal(journal.isWritable(), false, 'the start-up probe found the disk full');
    const events: boolean[] = [];
    journal.onHealthChange((h) => events.push(h.ok));

    rmSync(filler);
    const freedAt = performance.now();
    await eventually(() => journal.isWritable() && store.isWritable(), 5000, 'recovery without a restart');
    const recoveredMs = Math.round(performance.now() - freedAt);
    const figures = { scenario: 'disk full', ackedBeforeFull: acked.length, recoveredMs, probeIntervalMs: 50 };
    console.log(`STORAGE_FIGURES ${JSON.stringify(figures)}`);
    assert.deepEqual(events, [true]);
    const after = await journal.append({ type: 'sent', orderId: 999 });
    assert.ok(after.cursor > Math.max(...acked), 'cursors keep increasing');
    assert.equal((await store.begin('after-full', hash)).kind, 'new');
    const stored = new Set((await allEvents(journal)).map((e) => e.cursor));
    for (const c of acked) assert.ok(stored.has(c), `acknowledged cursor ${c} kept`);

    await Promise.all([journal.close(), store.close()]);
    assert.deepEqual(health, [false], 'the first run heard the failure once');
  });
});

function writeAt(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}
