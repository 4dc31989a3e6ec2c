import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ApiError } from '@ibrest/common';

/**
 * One SQLite database file (node:sqlite, DatabaseSync) holding one part of the order storage: the journal, the
 * idempotency store or the audit log. What every part shares lives here:
 *
 * - **Exclusive ownership.** `locking_mode=EXCLUSIVE` plus an immediate exclusive transaction at open: the kernel's
 *   fcntl lock on the file is held for the life of the connection. A second writer (another process or another
 *   open in this one) gets `DataDirLockedError`; a dead owner's lock is released by the kernel, so there is no
 *   stale lock to take over. `<file>.owner` records who holds it (pid, start time), for the error message only.
 * - **Integrity at open.** `PRAGMA quick_check` (or `integrity_check`) and the part's own row check (a CRC-32 per
 *   row): any damage refuses to start with `StorageCorruptError` naming the file. A torn final write is not
 *   damage: WAL frames of a commit that never completed are ignored by SQLite's recovery.
 * - **Batched transactions.** Writes queued in the same turn of the event loop share one transaction and one
 *   fsync (WAL + `synchronous=FULL`), each write in its own savepoint so one failing write fails alone.
 * - **Fail closed, recover by itself.** A failed write (disk full, read-only, I/O error) rejects with
 *   `LogUnavailableError` (503 + Retry-After), marks the file failing and starts a probe write every
 *   `probeIntervalMs`; the first successful write (probe or real) marks it healthy again. Nothing throws out of
 *   a timer, so a write failure never crashes the process.
 * - **Identity.** The file's device and inode are remembered at open and checked before each write batch and every
 *   `identityIntervalMs`: a deleted or replaced file (or data directory) marks the file lost, for good: writes
 *   are refused until a restart, because writing on would put records where no later start finds them.
 */

export interface StorageHealth {
  ok: boolean;
  /** Why it is not ok: the first error of the current failure, or the identity loss. */
  reason?: string;
  /** ISO time of the last change of `ok`. */
  since: string;
  /** Absolute path of the database file. */
  file: string;
}

/** What the worker turns into the `orders` capability. */
export interface StorageHealthSource {
  health(): StorageHealth;
  /** True while the last write (or probe) succeeded and the file is still the one opened. */
  isWritable(): boolean;
  /** Called on every change of `ok`; returns the unsubscribe function. */
  onHealthChange(listener: (health: StorageHealth) => void): () => void;
}

/** Two writers on one file would interleave cursors and corrupt it; each part has one writer. */
export class DataDirLockedError extends ApiError {
  constructor(path: string, owner: OwnerInfo | undefined) {
    const who = owner ? `process ${owner.pid}${owner.host ? ` on ${owner.host}` : ''}` : 'another process';
    super(500, 'DATA_DIR_LOCKED', `${path} is held by ${who}; each data file has one writer`, {
      details: { path, ...(owner ? { pid: owner.pid } : {}) },
    });
  }
}

/** Damage found at open (or by a read): the process refuses to start rather than work on a partial history. */
export class StorageCorruptError extends ApiError {
  constructor(path: string, what: string) {
    super(
      500,
      'STORAGE_CORRUPT',
      `${path} is damaged (${what}). Refusing to start: records after the damage would be lost or reused. ` +
        'Restore the file from a backup, or move it aside to start empty ' +
        '(keys then fall back to IB’s orderRef lookup)',
      { details: { path } },
    );
  }
}

export class LogClosedError extends ApiError {
  constructor(what: string) {
    super(503, 'LOG_CLOSED', `${what} is closed`);
  }
}

export class LogUnavailableError extends ApiError {
  constructor(what: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(503, 'LOG_UNAVAILABLE', `${what} cannot be written now (${reason}); retry later`, { cause, retryAfter: 1 });
  }
}

export interface OwnerInfo {
  pid: number;
  /** Process start time (clock ticks since boot, from /proc), when the platform has /proc. */
  startTime?: number;
  host?: string;
}

export interface StorageFileOptions {
  path: string;
  /** Shown in errors: "order journal", "idempotency store" … */
  label: string;
  /** synchronous=FULL (fsync each commit) when true; NORMAL (an OS crash may lose the last commits) when false. */
  sync: boolean;
  /** DDL run at open (CREATE … IF NOT EXISTS): must not write when the schema exists. */
  schema: string;
  /** Full `integrity_check` instead of `quick_check` at open. @default false */
  fullIntegrityCheck?: boolean;
  /** @default 1000 */
  probeIntervalMs?: number;
  /** @default 1000 */
  identityIntervalMs?: number;
}

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
const SQLITE_CONSTRAINT = 19;
const SQLITE_MISUSE = 21;

/** The SQLite primary result code of an error from node:sqlite, if it is one. */
export function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

export class StorageFile implements StorageHealthSource {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly label: string;
  /** True when a WAL with committed frames was replayed at open (the previous run did not close cleanly). */
  readonly recoveredWal: boolean;
  readonly #identity: { dev: number; ino: number; dirDev: number; dirIno: number };
  readonly #listeners = new Set<(h: StorageHealth) => void>();
  readonly #queue: QueuedWrite[] = [];
  readonly #probeIntervalMs: number;
  readonly #identityTimer: NodeJS.Timeout;
  #flushScheduled = false;
  #probeTimer: NodeJS.Timeout | undefined;
  #health: StorageHealth;
  #lost = false;
  #closed = false;
  #wal: { dev: number; ino: number } | undefined;
  /** Transactions committed (each may carry many writes); metrics and tests watch batching with it. */
  commits = 0;

  private constructor(db: DatabaseSync, options: StorageFileOptions, recoveredWal: boolean) {
    this.db = db;
    this.path = resolve(options.path);
    this.label = options.label;
    this.recoveredWal = recoveredWal;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.#identity = identityOf(this.path);
    this.#health = { ok: true, since: new Date().toISOString(), file: this.path };
    this.#identityTimer = setInterval(() => this.checkIdentity(), options.identityIntervalMs ?? 1000);
    this.#identityTimer.unref();
  }

  /**
   * Opens (creating if needed) the file, takes it exclusively, checks its integrity and applies the schema.
   * Never writes when the file exists with its schema, so start-up needs no free space. Throws
   * `DataDirLockedError`, `StorageCorruptError`, or the filesystem's error for an unusable directory.
   */
  static open(options: StorageFileOptions): StorageFile {
    const path = resolve(options.path);
    mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: 0 });
    } catch (err) {
      throw openError(path, err);
    }
    try {
      const walBytes = fileSize(`${path}-wal`);
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      try {
        // Takes the exclusive lock now (held until close) and replays a leftover WAL; writes nothing.
        db.exec('BEGIN EXCLUSIVE; COMMIT');
      } catch (err) {
        const code = sqliteCode(err);
        if (code === SQLITE_BUSY || code === SQLITE_LOCKED) throw new DataDirLockedError(path, readOwner(path));
        throw err;
      }
      const mode = (db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode;
      if (mode.toLowerCase() !== 'wal') db.exec('PRAGMA journal_mode=WAL');
      db.exec(`PRAGMA synchronous=${options.sync ? 'FULL' : 'NORMAL'}`);
      const check = options.fullIntegrityCheck ? 'integrity_check' : 'quick_check';
      const rows = db.prepare(`PRAGMA ${check}`).all() as Record<string, string>[];
      const problems = rows.map((r) => Object.values(r)[0]).filter((v) => v !== 'ok');
      if (problems.length > 0) throw new StorageCorruptError(path, `${check}: ${problems.slice(0, 3).join('; ')}`);
      db.exec(options.schema);
      writeOwner(path);
      const file = new StorageFile(db, options, walBytes > 0);
      // One small synced write tells at once whether the disk takes writes; a failure here is not fatal (the
      // file is then failing, probed, and recovers by itself), so a full disk never stops the start.
      file.#probe();
      return file;
    } catch (err) {
      try {
        db.close();
      } catch {
        // already unusable; the original error says why
      }
      throw openError(path, err);
    }
  }

  health(): StorageHealth {
    return { ...this.#health };
  }

  isWritable(): boolean {
    return this.#health.ok;
  }

  onHealthChange(listener: (health: StorageHealth) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `work` inside a write transaction shared with the other writes queued in this turn of the event loop;
   * resolves with its result once the transaction is committed (and synced). `work` must only touch this
   * database, synchronously. Rejects with `LogUnavailableError` when the write could not be made durable, or with
   * `work`'s own error (its savepoint is rolled back; the other writes of the batch are unaffected).
   */
  write<T>(work: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new LogClosedError(this.label));
    return new Promise<T>((resolveWrite, reject) => {
      this.#queue.push({ run: work, resolve: resolveWrite as (v: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Re-checks that the file on disk is still the one opened; false (and lost for good) when not. */
  checkIdentity(): boolean {
    if (this.#lost || this.#closed) return !this.#lost;
    let now: { dev: number; ino: number; dirDev: number; dirIno: number } | undefined;
    try {
      now = identityOf(this.path);
    } catch {
      now = undefined;
    }
    let same =
      now !== undefined &&
      now.dev === this.#identity.dev &&
      now.ino === this.#identity.ino &&
      now.dirDev === this.#identity.dirDev &&
      now.dirIno === this.#identity.dirIno;
    let what = this.path;
    if (same && this.#wal !== undefined) {
      // Committed transactions live in the WAL until a checkpoint: losing it loses them at the next crash.
      const wal = fileIdentity(`${this.path}-wal`);
      same = wal !== undefined && wal.dev === this.#wal.dev && wal.ino === this.#wal.ino;
      what = `${this.path}-wal`;
    }
    if (!same) {
      this.#lost = true;
      this.#stopProbe();
      this.#setHealth(false, `${what} was deleted or replaced while open; restart to reopen it`);
    }
    return same;
  }

  /** Waits for queued writes, then closes the database (checkpointing the WAL into the file). */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#queue.length > 0 || this.#flushScheduled) await new Promise((r) => setImmediate(r));
    this.#closed = true;
    clearInterval(this.#identityTimer);
    this.#stopProbe();
    this.#listeners.clear();
    try {
      this.db.close();
    } finally {
      if (!this.#lost) removeOwner(this.path);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const w of batch) w.reject(new LogClosedError(this.label));
      return;
    }
    if (!this.checkIdentity()) {
      const err = new LogUnavailableError(this.label, new Error(this.#health.reason));
      for (const w of batch) w.reject(err);
      return;
    }
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const w of batch) {
        this.db.exec('SAVEPOINT w');
        try {
          results.push({ ok: true, value: w.run() });
          this.db.exec('RELEASE w');
        } catch (err) {
          if (isStorageFault(err)) throw err;
          this.db.exec('ROLLBACK TO w');
          this.db.exec('RELEASE w');
          results.push({ ok: false, value: err });
        }
      }
      this.db.exec('COMMIT');
      this.commits++;
    } catch (err) {
      this.#rollback();
      const failure = new LogUnavailableError(this.label, err);
      this.#fail(err);
      for (const w of batch) w.reject(failure);
      return;
    }
    this.#recovered();
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.value);
      else w.reject(r.value as Error);
    });
  }

  #rollback(): void {
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite may already have rolled back (it does on SQLITE_FULL/IOERR during commit)
    }
  }

  #fail(err: unknown): void {
    const reason = `${this.label} cannot be written: ${err instanceof Error ? err.message : String(err)}`;
    if (this.#health.ok) this.#setHealth(false, reason);
    if (!this.#lost && this.#probeTimer === undefined && !this.#closed) {
      this.#probeTimer = setInterval(() => this.#probe(), this.#probeIntervalMs);
      this.#probeTimer.unref();
    }
  }

  #recovered(): void {
    if (this.#lost) return;
    // The WAL exists once something was committed; from then on it belongs to the file's identity.
    this.#wal ??= fileIdentity(`${this.path}-wal`);
    this.#stopProbe();
    if (!this.#health.ok) this.#setHealth(true);
  }

  /** A real, synced write of one row: the disk takes writes again when this commits. */
  #probe(): void {
    if (this.#closed || this.#lost || this.#queue.length > 0) return;
    if (!this.checkIdentity()) return;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db
        .prepare("INSERT INTO meta(k, v) VALUES ('probe', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v")
        .run(new Date().toISOString());
      this.db.exec('COMMIT');
      this.#recovered();
    } catch (err) {
      this.#rollback();
      if (this.#health.ok) this.#fail(err);
      else this.#health.reason = `${this.label} cannot be written: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  #stopProbe(): void {
    if (this.#probeTimer !== undefined) clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  #setHealth(ok: boolean, reason?: string): void {
    const since = new Date().toISOString();
    this.#health = { ok, since, file: this.path, ...(reason === undefined ? {} : { reason }) };
    for (const listener of this.#listeners) {
      try {
        listener(this.health());
      } catch (err) {
        process.emitWarning(`storage health listener threw: ${String(err)}`);
      }
    }
  }
}

/** Errors that say the storage, not the write's own content, failed. */
function isStorageFault(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && code !== SQLITE_CONSTRAINT && code !== SQLITE_MISUSE;
}

/** The table every part has: the health probe writes here. Include it in each part's schema. */
export const META_TABLE = 'CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);';

function openError(path: string, err: unknown): Error {
  if (err instanceof ApiError) return err;
  const code = sqliteCode(err);
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
    return new StorageCorruptError(path, err instanceof Error ? err.message : String(err));
  }
  const e = new Error(`cannot open ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  return e;
}

function identityOf(path: string): { dev: number; ino: number; dirDev: number; dirIno: number } {
  const file = statSync(path);
  const dir = statSync(dirname(path));
  return { dev: file.dev, ino: file.ino, dirDev: dir.dev, dirIno: dir.ino };
}

function fileIdentity(path: string): { dev: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** This process's start time in clock ticks since boot (field 22 of /proc/self/stat), where /proc exists. */
export function processStartTime(pid: number | 'self' = 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isSafeInteger(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function writeOwner(path: string): void {
  const owner: OwnerInfo = { pid: process.pid, host: hostname() };
  const start = processStartTime();
  if (start !== undefined) owner.startTime = start;
  try {
    writeFileSync(`${path}.owner`, `${JSON.stringify(owner)}\n`);
  } catch {
    // informational only (a full disk must not stop the start)
  }
}

function readOwner(path: string): OwnerInfo | undefined {
  try {
    const owner = JSON.parse(readFileSync(`${path}.owner`, 'utf8')) as OwnerInfo;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function removeOwner(path: string): void {
  try {
    const owner = readOwner(path);
    if (owner?.pid === process.pid) unlinkSync(`${path}.owner`);
  } catch {
    // gone already
  }
}

/**
 * One health for several files (the worker's journal, idempotency store and audit log): ok while all are ok; the
 * reason is the first failing file's; listeners hear every change of the combined `ok`.
 */
export function combineStorageHealth(sources: readonly StorageHealthSource[]): StorageHealthSource {
  const combined = (): StorageHealth => {
    const all = sources.map((s) => s.health());
    const bad = all.find((h) => !h.ok);
    const since =
      all
        .map((h) => h.since)
        .sort()
        .at(-1) ?? new Date().toISOString();
    if (bad) return { ...bad };
    return { ok: true, since, file: all.map((h) => h.file).join(', ') };
  };
  return {
    health: combined,
    isWritable: () => sources.every((s) => s.isWritable()),
    onHealthChange(listener) {
      let last = combined().ok;
      const offs = sources.map((s) =>
        s.onHealthChange(() => {
          const now = combined();
          if (now.ok === last) return;
          last = now.ok;
          listener(now);
        }),
      );
      return () => offs.forEach((off) => off());
    },
  };
}
