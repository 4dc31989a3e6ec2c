import { join } from 'node:path';
import type { StatementSync } from 'node:sqlite';
import { crc32 } from 'node:zlib';
import { ApiError } from '@ibrest/common';
import { assertValidIdempotencyKey, orderRefForKey } from './idempotency-keys.js';
import { migrateIdempotencyFile, type MigrationReport } from './migrate-jsonl.js';
import {
  LogClosedError,
  META_TABLE,
  StorageCorruptError,
  StorageFile,
  type StorageHealth,
  type StorageHealthSource,
} from './storage-file.js';

/** The HTTP answer given to the first request, replayed verbatim to every retry. */
export interface StoredResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface IdempotencyRecord {
  key: string;
  /** {@link requestHash} of the first request. */
  hash: string;
  /** The orderRef the order carries at IB ({@link orderRefForKey}). */
  orderRef: string;
  /** Order identity (BRIEF decision 7): set by {@link IdempotencyStore.attachOrder} as IB's evidence arrives. */
  orderId?: number;
  clientId?: number;
  permId?: number;
  /** Caller context kept with the key (apiKey name, method, path …); must be JSON. */
  meta?: Record<string, unknown>;
  beganAt: number;
  /** Last change (begin, attach, park, settle); the TTL counts from here. */
  updatedAt?: number;
  completedAt?: number;
  /** The final answer, once there is one. Never a 5xx: those say the outcome is not known yet. */
  response?: StoredResponse;
}

export type BeginResult =
  /** First use: the record is durable; go ahead (attachOrder, send to IB, complete). */
  | { kind: 'new'; orderRef: string }
  /** Another request with this key is running in this process; wait() resolves with its response. */
  | { kind: 'in-flight'; wait(): Promise<StoredResponse> }
  /** Done before: answer with this response and do not touch IB. */
  | { kind: 'replay'; response: StoredResponse; record: IdempotencyRecord }
  /** Same key, different request: 409 IDEMPOTENCY_KEY_REUSED. */
  | { kind: 'conflict' }
  /**
   * Begun before (a crash, a restart, or a request parked without a final answer) and not completed: the order
   * may or may not be at IB. The caller now owns the key (as with 'new'): look the order up at IB by orderRef,
   * then settle/complete it from IB's evidence; if IB never saw it, place it (attachOrder, send, complete) or
   * release the key.
   */
  | { kind: 'unknown-outcome'; orderId?: number; orderRef: string; record: IdempotencyRecord };

/** The request that held the key ended without an order (release()); the waiter should retry. */
export class IdempotencyKeyReleasedError extends ApiError {
  constructor(key: string) {
    super(
      409,
      'IDEMPOTENCY_KEY_RELEASED',
      'The first request with this Idempotency-Key ended without sending an order; retry it',
      {
        details: { idempotencyKey: key },
      },
    );
  }
}

/** attachOrder/complete/park called for a key this process does not hold in flight (a caller bug). */
export class IdempotencyKeyNotInFlightError extends ApiError {
  constructor(key: string, why = 'is not in flight') {
    super(500, 'IDEMPOTENCY_KEY_NOT_IN_FLIGHT', `Idempotency-Key ${JSON.stringify(key)} ${why}`);
  }
}

/** complete()/settle() with a 5xx: such an answer says the outcome is unknown, so it is never stored as final. */
export class IdempotencyAnswerNotFinalError extends ApiError {
  constructor(key: string, status: number) {
    const message = `A ${status} is not a final answer for Idempotency-Key ${JSON.stringify(key)}; park() it`;
    super(500, 'IDEMPOTENCY_ANSWER_NOT_FINAL', message);
  }
}

export interface IdempotencyStoreOptions {
  /** Directory holding `idempotency.db` (created if missing). */
  dir: string;
  /** How long a key is kept after its last change. @default 24 h */
  ttlMs?: number;
  /** @default Date.now */
  clock?: () => number;
  /** synchronous=FULL: every commit is fsynced. @default true */
  fsync?: boolean;
  fullIntegrityCheck?: boolean;
  /** @default 1000 */
  probeIntervalMs?: number;
  /** @default 1000 */
  identityIntervalMs?: number;
  /** How often expired keys are deleted (never at open). @default 10 min */
  purgeIntervalMs?: number;
}

export interface IdempotencyOpenReport {
  file: string;
  keys: number;
  recoveredWal: boolean;
  migrated?: MigrationReport;
}

interface Waiter {
  resolve(response: StoredResponse): void;
  reject(err: Error): void;
}

interface Row {
  key: string;
  record: string;
  crc: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const SCHEMA = `${META_TABLE}
CREATE TABLE IF NOT EXISTS keys (
  key TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  crc INTEGER NOT NULL,
  order_ref TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  done INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_order_ref ON keys (order_ref);
CREATE INDEX IF NOT EXISTS keys_updated_at ON keys (updated_at);
CREATE INDEX IF NOT EXISTS keys_open ON keys (done, updated_at);`;

/**
 * Idempotency-Key records in `idempotency.db` (SQLite). The database is the only copy of the records; memory holds
 * only the keys a request in this process currently owns (and the duplicates waiting for them).
 */
export class IdempotencyStore implements StorageHealthSource {
  readonly #file: StorageFile;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  // keys owned by a request in this process → the duplicates waiting for its answer
  readonly #owned = new Map<string, Waiter[]>();
  readonly #get: StatementSync;
  readonly #byOrderRef: StatementSync;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly openReport: IdempotencyOpenReport;

  private constructor(file: StorageFile, options: IdempotencyStoreOptions) {
    this.#file = file;
    this.#ttlMs = options.ttlMs ?? DAY_MS;
    this.#clock = options.clock ?? Date.now;
    const db = file.db;
    this.#get = db.prepare('SELECT key, record, crc FROM keys WHERE key = ?');
    this.#byOrderRef = db.prepare('SELECT key, record, crc FROM keys WHERE order_ref = ?');
    this.#put = db.prepare(
      `INSERT INTO keys (key, record, crc, order_ref, updated_at, done) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET record = excluded.record, crc = excluded.crc, order_ref = excluded.order_ref,
       updated_at = excluded.updated_at, done = excluded.done`,
    );
    this.#delete = db.prepare('DELETE FROM keys WHERE key = ?');
    this.#purgeTimer = setInterval(() => void this.compact().catch(() => {}), options.purgeIntervalMs ?? 600_000);
    this.#purgeTimer.unref();
    this.openReport = { file: file.path, keys: 0, recoveredWal: file.recoveredWal };
  }

  static async open(options: IdempotencyStoreOptions): Promise<IdempotencyStore> {
    if (options.ttlMs !== undefined && !(options.ttlMs > 0))
      throw new TypeError(`expected ttlMs > 0, got ${options.ttlMs}`);
    const file = StorageFile.open({
      path: join(options.dir, 'idempotency.db'),
      label: 'idempotency store',
      sync: options.fsync ?? true,
      schema: SCHEMA,
      ...(options.fullIntegrityCheck === undefined ? {} : { fullIntegrityCheck: options.fullIntegrityCheck }),
      ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }),
      ...(options.identityIntervalMs === undefined ? {} : { identityIntervalMs: options.identityIntervalMs }),
    });
    let store: IdempotencyStore | undefined;
    try {
      for (const row of file.db.prepare('SELECT key, record, crc FROM keys').iterate() as Iterable<Row>) {
        decode(file.path, row);
      }
      store = new IdempotencyStore(file, options);
      const put = (r: Record<string, unknown>): void => store!.#putNow(r as unknown as IdempotencyRecord);
      const migrated = migrateIdempotencyFile(file, options.dir, put);
      const keys = (file.db.prepare('SELECT count(*) AS n FROM keys').get() as { n: number }).n;
      Object.assign(store.openReport, { keys, ...(migrated ? { migrated } : {}) });
      return store;
    } catch (err) {
      if (store) await store.close().catch(() => {});
      else await file.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Claims `key` for a request whose fingerprint is `requestHash`. Concurrent calls with one key are decided
   * synchronously, so exactly one of them gets 'new' (or 'unknown-outcome'). For 'new', the record is durable
   * when the promise resolves, before the caller may send anything to IB.
   */
  async begin(key: string, requestHash: string, meta?: Record<string, unknown>): Promise<BeginResult> {
    assertValidIdempotencyKey(key);
    this.#assertOpen();
    const waiters = this.#owned.get(key);
    const record = this.#read(key);
    if (waiters) {
      if (record && record.hash !== requestHash) return { kind: 'conflict' };
      return { kind: 'in-flight', wait: () => this.#wait(key) };
    }
    if (record) {
      if (record.hash !== requestHash) return { kind: 'conflict' };
      if (record.response) return { kind: 'replay', response: record.response, record };
      this.#owned.set(key, []);
      return {
        kind: 'unknown-outcome',
        orderRef: record.orderRef,
        record,
        ...(record.orderId === undefined ? {} : { orderId: record.orderId }),
      };
    }
    const now = this.#clock();
    const orderRef = orderRefForKey(key);
    const fresh: IdempotencyRecord = { key, hash: requestHash, orderRef, beganAt: now, updatedAt: now };
    if (meta !== undefined) fresh.meta = meta;
    this.#owned.set(key, []);
    try {
      await this.#write(fresh);
    } catch (err) {
      // Not durable, so the key must not look taken: duplicates learn the first attempt failed.
      this.#disown(key, (w) => w.reject(new IdempotencyKeyReleasedError(key)));
      throw err;
    }
    return { kind: 'new', orderRef: fresh.orderRef };
  }

  /**
   * Records the order's identity for a key that has no final answer yet (owned here, or parked): the orderId
   * before placeOrder (durable on resolve), clientId and permId as IB's evidence arrives.
   */
  async attachOrder(key: string, orderId: number, ids: { clientId?: number; permId?: number } = {}): Promise<void> {
    this.#assertOpen();
    const record = this.#read(key);
    if (!record || (!this.#owned.has(key) && record.response)) throw new IdempotencyKeyNotInFlightError(key);
    const next: IdempotencyRecord = { ...record, orderId, updatedAt: this.#clock() };
    if (ids.clientId !== undefined) next.clientId = ids.clientId;
    if (ids.permId !== undefined && ids.permId !== 0) next.permId = ids.permId;
    await this.#write(next);
  }

  /**
   * Stores the final answer of the request that owns `key` (replayed to every later retry) and wakes in-flight
   * duplicates. A 5xx is refused with `IdempotencyAnswerNotFinalError`: use {@link park} for those.
   */
  async complete(key: string, response: StoredResponse): Promise<void> {
    this.#assertFinal(key, response);
    if (!this.#owned.has(key)) throw new IdempotencyKeyNotInFlightError(key);
    await this.#finish(key, response);
  }

  /**
   * The owning request ends without a final answer (deadline passed, link lost after sending): the record stays
   * claimed and durable, without an answer, so the next `begin()` gets 'unknown-outcome' and `unresolved()` lists
   * it for settling from IB's evidence. In-flight duplicates get `transient` (e.g. the 504) if given, else
   * `IdempotencyKeyReleasedError`. Nothing is written.
   */
  park(key: string, transient?: StoredResponse): void {
    this.#assertOpen();
    if (!this.#owned.has(key)) throw new IdempotencyKeyNotInFlightError(key);
    this.#disown(key, (w) => (transient ? w.resolve(transient) : w.reject(new IdempotencyKeyReleasedError(key))));
  }

  /**
   * Sets the answer of `key` from IB's later evidence, whoever holds it: a key owned here (same as complete), a
   * parked or crash-left key, or one already answered (the record follows its order). Refuses a 5xx.
   */
  async settle(key: string, response: StoredResponse): Promise<void> {
    this.#assertFinal(key, response);
    this.#assertOpen();
    if (this.#owned.has(key)) return this.#finish(key, response);
    const record = this.#read(key);
    if (!record) throw new IdempotencyKeyNotInFlightError(key, 'is not stored');
    const now = this.#clock();
    await this.#write({ ...record, response, completedAt: now, updatedAt: now });
  }

  /**
   * Forgets a key whose order never reached IB, so a retry places it: a key owned here (validation, policy
   * refusal, IB not ready) or one parked / left by a crash that IB's evidence shows it never saw. Never call it
   * once IB may have the order. A key with a final answer cannot be released.
   */
  async release(key: string): Promise<void> {
    this.#assertOpen();
    const owned = this.#owned.has(key);
    const record = this.#read(key);
    if (!owned && (!record || record.response)) {
      throw new IdempotencyKeyNotInFlightError(key, record ? 'has a final answer' : 'is not stored');
    }
    try {
      await this.#file.write(() => this.#delete.run(key));
    } finally {
      if (owned) this.#disown(key, (w) => w.reject(new IdempotencyKeyReleasedError(key)));
    }
  }

  /** A copy of the live record for `key`, if any. */
  get(key: string): IdempotencyRecord | undefined {
    this.#assertOpen();
    return this.#read(key);
  }

  /** The live record whose order carries `orderRef` at IB (the reverse of {@link orderRefForKey}). */
  getByOrderRef(orderRef: string): IdempotencyRecord | undefined {
    this.#assertOpen();
    for (const row of this.#byOrderRef.all(orderRef) as unknown as Row[]) {
      const record = decode(this.#file.path, row);
      if (!this.#expired(record)) return record;
    }
    return undefined;
  }

  /** Keys without a final answer that no request here owns (left by a crash, or parked): settle them from IB. */
  unresolved(): IdempotencyRecord[] {
    this.#assertOpen();
    const rows = this.#file.db
      .prepare('SELECT key, record, crc FROM keys WHERE done = 0 AND updated_at > ?')
      .all(this.#clock() - this.#ttlMs) as unknown as Row[];
    return rows.map((r) => decode(this.#file.path, r)).filter((r) => !this.#owned.has(r.key) && !this.#expired(r));
  }

  /** Live keys (not expired). */
  get size(): number {
    this.#assertOpen();
    return (
      this.#file.db.prepare('SELECT count(*) AS n FROM keys WHERE updated_at > ?').get(this.#clock() - this.#ttlMs) as {
        n: number;
      }
    ).n;
  }

  /** Deletes expired keys (runs every `purgeIntervalMs`, never at open, so a start needs no free space). */
  async compact(): Promise<void> {
    this.#assertOpen();
    const cutoff = this.#clock() - this.#ttlMs;
    const owned = [...this.#owned.keys()];
    await this.#file.write(() => {
      const stmt = this.#file.db.prepare(
        `DELETE FROM keys WHERE updated_at <= ?${owned.length ? ` AND key NOT IN (${owned.map(() => '?')})` : ''}`,
      );
      stmt.run(cutoff, ...owned);
    });
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

  async close(): Promise<void> {
    if (this.#file.closed) return;
    clearInterval(this.#purgeTimer);
    const closed = new LogClosedError('idempotency store');
    for (const key of [...this.#owned.keys()]) this.#disown(key, (w) => w.reject(closed));
    await this.#file.close();
  }

  async #finish(key: string, response: StoredResponse): Promise<void> {
    const record = this.#read(key);
    try {
      if (!record) throw new IdempotencyKeyNotInFlightError(key, 'is not stored');
      const now = this.#clock();
      await this.#write({ ...record, response, completedAt: now, updatedAt: now });
    } finally {
      // The response is what happened even if storing it failed; the duplicates get it either way.
      this.#disown(key, (w) => w.resolve(response));
    }
  }

  #disown(key: string, each: (w: Waiter) => void): void {
    const waiters = this.#owned.get(key) ?? [];
    this.#owned.delete(key);
    for (const w of waiters) each(w);
  }

  #read(key: string): IdempotencyRecord | undefined {
    const row = this.#get.get(key) as Row | undefined;
    if (!row) return undefined;
    const record = decode(this.#file.path, row);
    return this.#owned.has(key) || !this.#expired(record) ? record : undefined;
  }

  #expired(record: IdempotencyRecord): boolean {
    const last = record.updatedAt ?? record.completedAt ?? record.beganAt;
    return this.#clock() - last >= this.#ttlMs;
  }

  #wait(key: string): Promise<StoredResponse> {
    const waiters = this.#owned.get(key);
    if (!waiters) {
      const record = this.#read(key);
      if (record?.response) return Promise.resolve(record.response);
      return Promise.reject(new IdempotencyKeyReleasedError(key));
    }
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  #write(record: IdempotencyRecord): Promise<void> {
    return this.#file.write(() => this.#putNow(record));
  }

  #putNow(record: IdempotencyRecord): void {
    const text = JSON.stringify(record);
    const updated = record.updatedAt ?? record.completedAt ?? record.beganAt;
    this.#put.run(record.key, text, crc32(text), record.orderRef, updated, record.response ? 1 : 0);
  }

  #assertFinal(key: string, response: StoredResponse): void {
    const final = response.status >= 100 && response.status < 500;
    if (!final) throw new IdempotencyAnswerNotFinalError(key, response.status);
  }

  #assertOpen(): void {
    if (this.#file.closed) throw new LogClosedError('idempotency store');
  }
}

export function createIdempotencyStore(options: IdempotencyStoreOptions): Promise<IdempotencyStore> {
  return IdempotencyStore.open(options);
}

function decode(path: string, row: Row): IdempotencyRecord {
  if (typeof row.record !== 'string' || crc32(row.record) !== row.crc) {
    throw new StorageCorruptError(path, `the record of key ${JSON.stringify(row.key)} fails its checksum`);
  }
  return JSON.parse(row.record) as IdempotencyRecord;
}
