import { join } from 'node:path';
import type { StatementSync } from 'node:sqlite';
import { crc32 } from 'node:zlib';
import { migrateLogSegments, type MigrationReport } from './migrate-jsonl.js';
import {
  LogClosedError,
  META_TABLE,
  StorageCorruptError,
  StorageFile,
  type StorageHealth,
  type StorageHealthSource,
} from './storage-file.js';

/**
 * The engine under the order journal and the audit log: one SQLite file (`<prefix>.db`), one row per entry.
 * `cursor` is an `INTEGER PRIMARY KEY AUTOINCREMENT`: it increases with every committed entry and is never handed
 * out again, also after a restart or if rows were ever deleted (SQLite keeps the high-water mark in
 * `sqlite_sequence`). A cursor is known to the caller only after its transaction committed. The entry is stored
 * as JSON with a CRC-32 of that text; every row is checked at open, so a damaged row refuses the start instead of
 * being skipped.
 */
export interface LogEntry {
  cursor: number;
}

export interface SqliteLogOptions {
  dir: string;
  prefix: string;
  label: string;
  sync: boolean;
  /** Columns copied out of the entry for lookups (name → entry field), each indexed. */
  indexed?: Record<string, string>;
  fullIntegrityCheck?: boolean;
  probeIntervalMs?: number;
  identityIntervalMs?: number;
}

export interface ReadOptions {
  /** Return entries with a cursor greater than this. @default 0 */
  since?: number;
  /** At most this many entries. @default 1000 */
  limit?: number;
}

export interface SubscribeOptions {
  /** Replay durable entries after this cursor first, then continue live, without gaps or duplicates. */
  since?: number;
}

export interface OpenReport {
  /** Absolute path of the database file. */
  file: string;
  /** Entries in the file after opening (and migrating). */
  entries: number;
  /** The previous run ended without closing: SQLite replayed committed WAL frames (a torn last write is dropped). */
  recoveredWal: boolean;
  /** Set on the first start after an upgrade from the JSON-lines files. */
  migrated?: MigrationReport;
}

export class SqliteLog<T extends LogEntry> implements StorageHealthSource {
  readonly #file: StorageFile;
  readonly #opts: SqliteLogOptions;
  readonly #columns: [string, string][];
  readonly #insert: StatementSync;
  readonly #readSince: StatementSync;
  readonly #listeners = new Set<(entry: T) => void>();
  #last: T | undefined;
  readonly openReport: OpenReport;

  private constructor(file: StorageFile, opts: SqliteLogOptions, migrated: MigrationReport | undefined) {
    this.#file = file;
    this.#opts = opts;
    this.#columns = Object.entries(opts.indexed ?? {});
    const cols = ['body', 'crc', ...this.#columns.map(([c]) => c)];
    this.#insert = file.db.prepare(`INSERT INTO log (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    this.#readSince = file.db.prepare('SELECT cursor, body, crc FROM log WHERE cursor > ? ORDER BY cursor LIMIT ?');
    const lastRow = file.db.prepare('SELECT cursor, body, crc FROM log ORDER BY cursor DESC LIMIT 1').get() as
      Row | undefined;
    this.#last = lastRow ? this.#decode(lastRow) : undefined;
    const count = (file.db.prepare('SELECT count(*) AS n FROM log').get() as { n: number }).n;
    this.openReport = {
      file: file.path,
      entries: count,
      recoveredWal: file.recoveredWal,
      ...(migrated ? { migrated } : {}),
    };
  }

  static open<T extends LogEntry>(opts: SqliteLogOptions): SqliteLog<T> {
    const columns = Object.keys(opts.indexed ?? {});
    const schema = [
      META_TABLE,
      'CREATE TABLE IF NOT EXISTS log (cursor INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, ' +
        `crc INTEGER NOT NULL${columns.map((c) => `, ${c}`).join('')});`,
      ...columns.map((c) => `CREATE INDEX IF NOT EXISTS log_${c} ON log (${c}) WHERE ${c} IS NOT NULL;`),
    ].join('\n');
    const file = StorageFile.open({
      path: join(opts.dir, `${opts.prefix}.db`),
      label: opts.label,
      sync: opts.sync,
      schema,
      ...(opts.fullIntegrityCheck === undefined ? {} : { fullIntegrityCheck: opts.fullIntegrityCheck }),
      ...(opts.probeIntervalMs === undefined ? {} : { probeIntervalMs: opts.probeIntervalMs }),
      ...(opts.identityIntervalMs === undefined ? {} : { identityIntervalMs: opts.identityIntervalMs }),
    });
    try {
      verifyRows(file);
      const migrated = migrateLogSegments(file, opts.dir, opts.prefix, opts.indexed ?? {});
      return new SqliteLog<T>(file, opts, migrated);
    } catch (err) {
      void file.close();
      throw err;
    }
  }

  /** Cursor of the last durable entry; 0 when the log is empty. */
  get lastCursor(): number {
    return this.#last?.cursor ?? 0;
  }

  /** Committed transactions so far (each may carry many appends). */
  get batches(): number {
    return this.#file.commits;
  }

  get storage(): StorageFile {
    return this.#file;
  }

  /**
   * Resolves with the stored entry (cursor assigned) once its transaction is committed and synced. Appends are
   * stored in call order; subscribers see each entry after its commit, in cursor order.
   */
  append(fields: Omit<T, 'cursor'>): Promise<T> {
    if (this.#file.closed) return Promise.reject(new LogClosedError(this.#opts.label));
    const { cursor: _ignored, ...rest } = fields as Omit<T, 'cursor'> & { cursor?: unknown };
    const body = JSON.stringify(rest);
    const values = this.#columns.map(([, field]) => sqlValue((rest as Record<string, unknown>)[field]));
    return this.#file
      .write(() => Number(this.#insert.run(body, crc32(body), ...values).lastInsertRowid))
      .then((cursor) => {
        const entry = { cursor, ...rest } as unknown as T;
        this.#onDurable(entry);
        return entry;
      });
  }

  /** The most recent durable entry. */
  last(): T | undefined {
    return this.#last;
  }

  /** Durable entries with cursor > since, oldest first. */
  async read({ since = 0, limit = 1000 }: ReadOptions = {}): Promise<T[]> {
    return this.readSync({ since, limit });
  }

  readSync({ since = 0, limit = 1000 }: ReadOptions = {}): T[] {
    if (this.#file.closed) throw new LogClosedError(this.#opts.label);
    const max = Math.max(0, Math.floor(limit));
    if (max === 0) return [];
    const rows = this.#readSince.all(Math.max(0, Math.floor(since)), max) as unknown as Row[];
    return rows.map((r) => this.#decode(r));
  }

  /** Entries whose indexed columns equal the given values, oldest first (at most `limit`). */
  findBy(where: Record<string, string | number>, limit = 1000): T[] {
    const columns = Object.keys(where);
    for (const c of columns) {
      if (!this.#columns.some(([name]) => name === c)) throw new TypeError(`expected an indexed column, got ${c}`);
    }
    const condition = columns.map((c) => `${c} = ?`).join(' AND ');
    const rows = this.#file.db
      .prepare(`SELECT cursor, body, crc FROM log WHERE ${condition} ORDER BY cursor LIMIT ?`)
      .all(...Object.values(where), limit) as unknown as Row[];
    return rows.map((r) => this.#decode(r));
  }

  /** The largest value of the indexed numeric column `column` among rows whose column `where` is in `values`. */
  maxWhere(column: string, where: string, values: readonly number[]): number | undefined {
    for (const c of [column, where]) {
      if (!this.#columns.some(([name]) => name === c)) throw new TypeError(`expected an indexed column, got ${c}`);
    }
    if (values.length === 0) return undefined;
    const row = this.#file.db
      .prepare(`SELECT max(${column}) AS m FROM log WHERE ${where} IN (${values.map(() => '?').join(',')})`)
      .get(...values) as { m: number | null };
    return row.m ?? undefined;
  }

  /**
   * Calls `listener` for each new durable entry. With `since`, first replays what is already stored after that
   * cursor (the SSE `Last-Event-ID` case). Returns the unsubscribe function.
   */
  subscribe(listener: (entry: T) => void, options: SubscribeOptions = {}): () => void {
    if (options.since === undefined) {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    }
    let delivered = options.since;
    let live = false;
    let active = true;
    const buffered: T[] = [];
    const deliver = (entry: T): void => {
      if (!active || entry.cursor <= delivered) return;
      delivered = entry.cursor;
      safeCall(listener, entry);
    };
    const wrapper = (entry: T): void => (live ? deliver(entry) : void buffered.push(entry));
    this.#listeners.add(wrapper);
    void (async () => {
      for (;;) {
        await new Promise((r) => setImmediate(r));
        if (!active || this.#file.closed) return;
        const batch = this.readSync({ since: delivered, limit: 1000 });
        if (batch.length === 0) break;
        for (const entry of batch) deliver(entry);
      }
      for (const entry of buffered.splice(0)) deliver(entry);
      live = true;
    })().catch((err: unknown) => process.emitWarning(`replay of ${this.#opts.label} failed: ${String(err)}`));
    return () => {
      active = false;
      this.#listeners.delete(wrapper);
    };
  }

  health(): StorageHealth {
    return this.#file.health();
  }

  isWritable(): boolean {
    return this.#file.isWritable();
  }

  onHealthChange(listener: (health: StorageHealth) => void): () => void {
    return this.#file.onHealthChange(listener);
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#file.close();
  }

  #decode(row: Row): T {
    if (crc32(row.body) !== row.crc) {
      throw new StorageCorruptError(this.#file.path, `entry ${row.cursor} fails its checksum`);
    }
    return { cursor: row.cursor, ...(JSON.parse(row.body) as object) } as T;
  }

  #onDurable(entry: T): void {
    if (entry.cursor > (this.#last?.cursor ?? 0)) this.#last = entry;
    for (const listener of this.#listeners) safeCall(listener, entry);
  }
}

interface Row {
  cursor: number;
  body: string;
  crc: number;
}

/** Checks every row's CRC and JSON at open: damage anywhere refuses the start, naming the file and the cursor. */
function verifyRows(file: StorageFile): void {
  const stmt = file.db.prepare('SELECT cursor, body, crc FROM log ORDER BY cursor');
  for (const row of stmt.iterate() as Iterable<Row>) {
    if (typeof row.body !== 'string' || crc32(row.body) !== row.crc) {
      throw new StorageCorruptError(file.path, `entry ${row.cursor} fails its checksum`);
    }
  }
}

function sqlValue(v: unknown): string | number | null {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? v : null;
}

function safeCall<T>(listener: (entry: T) => void, entry: T): void {
  try {
    listener(entry);
  } catch (err) {
    // A broken subscriber (a closed SSE socket) must not stop the others or the writer.
    process.emitWarning(`log subscriber threw: ${String(err)}`);
  }
}
