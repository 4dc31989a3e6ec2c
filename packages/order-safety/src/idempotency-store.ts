import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '@ibrest/common';
import { acquireLock } from './dir-lock.js';
import { isRecord, recoverJsonLines } from './durable-fs.js';
import { GroupCommitFile } from './group-commit-file.js';
import { assertValidIdempotencyKey, orderRefForKey } from './idempotency-keys.js';
import { LogClosedError, LogUnavailableError } from './segmented-log.js';

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
  orderId?: number;
  /** Caller context kept with the key (apiKey name, method, path …); must be JSON. */
  meta?: Record<string, unknown>;
  beganAt: number;
  completedAt?: number;
  response?: StoredResponse;
}

export type BeginResult =
  /** First use: the record is durable; go ahead (attachOrder, send to IB, complete). */
  | { kind: 'new'; orderRef: string }
  /** Another request with this key is running in this process; wait() resolves with its response. */
  | { kind: 'in-flight'; wait(): Promise<StoredResponse> }
  /** Done before: answer with this response and do not touch IB. */
  | { kind: 'replay'; response: StoredResponse }
  /** Same key, different request: 409 IDEMPOTENCY_KEY_REUSED. */
  | { kind: 'conflict' }
  /**
   * Begun before a crash and never completed: the order may or may not have reached IB. The caller now owns the
   * key (as with 'new'): look the order up by orderRef (and orderId when known), then complete(); if IB never
   * saw it, place it (attachOrder, send, complete) exactly as for 'new'.
   */
  | { kind: 'unknown-outcome'; orderId?: number; orderRef: string };

/** The request that held the key ended without an order (release()); the waiter should retry. */
export class IdempotencyKeyReleasedError extends ApiError {
  constructor(key: string) {
    super(409, 'IDEMPOTENCY_KEY_RELEASED', 'The first request with this Idempotency-Key ended without sending an order; retry it', {
      details: { idempotencyKey: key },
    });
  }
}

/** attachOrder/complete/release called for a key this process does not hold in flight (a caller bug). */
export class IdempotencyKeyNotInFlightError extends ApiError {
  constructor(key: string) {
    super(500, 'IDEMPOTENCY_KEY_NOT_IN_FLIGHT', `Idempotency-Key ${JSON.stringify(key)} is not in flight`);
  }
}

export interface IdempotencyStoreOptions {
  dir: string;
  /** How long a key is kept after its last change (begin or complete). @default 24 h */
  ttlMs?: number;
  /** @default Date.now */
  clock?: () => number;
  /** fdatasync every commit batch. @default true */
  fsync?: boolean;
}

interface Waiter {
  resolve(response: StoredResponse): void;
  reject(err: Error): void;
}

interface Entry {
  record: IdempotencyRecord;
  /** Present while a caller in this process owns the key; the waiters of in-flight duplicates. */
  waiters?: Waiter[];
}

type Line = { op: 'put'; record: IdempotencyRecord } | { op: 'delete'; key: string };

const FILE = 'idempotency.jsonl';
const DAY_MS = 24 * 60 * 60 * 1000;

export class IdempotencyStore {
  // idempotency key → its record and, while in flight here, the duplicates waiting for it
  readonly #entries = new Map<string, Entry>();
  readonly #file: GroupCommitFile;
  readonly #release: () => Promise<void>;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  #linesSinceCompaction: number;
  #closed = false;

  private constructor(file: GroupCommitFile, release: () => Promise<void>, options: IdempotencyStoreOptions, lines: number) {
    this.#file = file;
    this.#release = release;
    this.#ttlMs = options.ttlMs ?? DAY_MS;
    this.#clock = options.clock ?? Date.now;
    this.#linesSinceCompaction = lines;
  }

  static async open(options: IdempotencyStoreOptions): Promise<IdempotencyStore> {
    if (options.ttlMs !== undefined && !(options.ttlMs > 0)) throw new TypeError(`expected ttlMs > 0, got ${options.ttlMs}`);
    await mkdir(options.dir, { recursive: true });
    const release = await acquireLock(join(options.dir, 'idempotency.lock'));
    try {
      const path = join(options.dir, FILE);
      const sync = options.fsync ?? true;
      const { records: lines } = await recoverJsonLines<Line>(path, parseLine, { repair: true, sync });
      const file = await GroupCommitFile.open(path, { sync });
      const store = new IdempotencyStore(file, release, options, lines.length);
      for (const line of lines) {
        if (line.op === 'put') store.#entries.set(line.record.key, { record: line.record });
        else store.#entries.delete(line.key);
      }
      // Recovery is the natural moment to drop expired keys and the history of overwritten records.
      await store.compact();
      return store;
    } catch (err) {
      await release();
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
    const existing = this.#live(key);
    if (existing) {
      const { record } = existing;
      if (record.hash !== requestHash) return { kind: 'conflict' };
      if (record.response) return { kind: 'replay', response: record.response };
      if (existing.waiters) return { kind: 'in-flight', wait: () => this.#wait(existing) };
      existing.waiters = [];
      return { kind: 'unknown-outcome', orderRef: record.orderRef, ...(record.orderId === undefined ? {} : { orderId: record.orderId }) };
    }
    const record: IdempotencyRecord = { key, hash: requestHash, orderRef: orderRefForKey(key), beganAt: this.#clock() };
    if (meta !== undefined) record.meta = meta;
    const entry: Entry = { record, waiters: [] };
    this.#entries.set(key, entry);
    try {
      await this.#put(record);
    } catch (err) {
      // Not durable, so the key must not look taken: duplicates learn the first attempt failed.
      this.#entries.delete(key);
      for (const w of entry.waiters!.splice(0)) w.reject(new IdempotencyKeyReleasedError(key));
      throw err;
    }
    return { kind: 'new', orderRef: record.orderRef };
  }

  /** Records the IB orderId for an in-flight key; durable on resolve, so call it before placeOrder. */
  async attachOrder(key: string, orderId: number): Promise<void> {
    const entry = this.#owned(key);
    entry.record = { ...entry.record, orderId };
    await this.#put(entry.record);
  }

  /** Stores the final response (replayed to every later retry) and wakes in-flight duplicates. */
  async complete(key: string, response: StoredResponse): Promise<void> {
    const entry = this.#owned(key);
    const waiters = entry.waiters!;
    entry.record = { ...entry.record, response, completedAt: this.#clock() };
    delete entry.waiters;
    try {
      await this.#put(entry.record);
    } finally {
      // The response is what happened even if storing it failed; the duplicates get it either way.
      for (const w of waiters) w.resolve(response);
    }
  }

  /**
   * Forgets an in-flight key whose request ended before anything reached IB (validation, policy refusal, IB
   * not ready), so a retry starts fresh. Never call it once the order may have been sent.
   */
  async release(key: string): Promise<void> {
    const entry = this.#owned(key);
    const waiters = entry.waiters!;
    this.#entries.delete(key);
    try {
      await this.#append({ op: 'delete', key });
    } finally {
      for (const w of waiters) w.reject(new IdempotencyKeyReleasedError(key));
    }
  }

  /** A copy of the live record for `key`, if any. */
  get(key: string): IdempotencyRecord | undefined {
    const entry = this.#live(key);
    return entry ? structuredClone(entry.record) : undefined;
  }

  /** Keys begun before the last restart and never completed: candidates for reconciliation at start-up. */
  unresolved(): IdempotencyRecord[] {
    return [...this.#entries.values()]
      .filter((e) => !e.record.response && !e.waiters && !this.#expired(e))
      .map((e) => structuredClone(e.record));
  }

  /** Live keys (not expired). */
  get size(): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (!this.#expired(entry)) n++;
    return n;
  }

  /** Rewrites the file with only live records (atomic rename), dropping expired keys. */
  async compact(): Promise<void> {
    this.#assertOpen();
    let snapshot = '';
    let lines = 0;
    for (const [key, entry] of this.#entries) {
      if (this.#expired(entry)) {
        this.#entries.delete(key);
        continue;
      }
      snapshot += `${JSON.stringify({ op: 'put', record: entry.record } satisfies Line)}\n`;
      lines++;
    }
    // The snapshot is taken synchronously and queued, so appends queued later land after it in the new file.
    this.#linesSinceCompaction = lines;
    await this.#file.replace(snapshot).catch((err: unknown) => {
      throw new LogUnavailableError('idempotency store', err);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#entries.values()) {
      for (const w of entry.waiters?.splice(0) ?? []) w.reject(new LogClosedError('idempotency store'));
    }
    try {
      await this.#file.close();
    } finally {
      await this.#release();
    }
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.#expired(entry)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #expired(entry: Entry): boolean {
    if (entry.waiters) return false;
    const last = entry.record.completedAt ?? entry.record.beganAt;
    return this.#clock() - last >= this.#ttlMs;
  }

  #owned(key: string): Entry {
    this.#assertOpen();
    const entry = this.#entries.get(key);
    if (!entry?.waiters) throw new IdempotencyKeyNotInFlightError(key);
    return entry;
  }

  #wait(entry: Entry): Promise<StoredResponse> {
    if (entry.record.response) return Promise.resolve(entry.record.response);
    if (!entry.waiters) return Promise.reject(new IdempotencyKeyReleasedError(entry.record.key));
    return new Promise((resolve, reject) => entry.waiters!.push({ resolve, reject }));
  }

  #put(record: IdempotencyRecord): Promise<void> {
    return this.#append({ op: 'put', record });
  }

  async #append(line: Line): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
    this.#linesSinceCompaction++;
    const pending = this.#file.append(text);
    if (this.#linesSinceCompaction > Math.max(1000, 2 * this.#entries.size)) {
      // Failure poisons the file, and the next append reports it.
      this.compact().catch(() => {});
    }
    await pending.catch((err: unknown) => {
      throw new LogUnavailableError('idempotency store', err);
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new LogClosedError('idempotency store');
  }
}

export function createIdempotencyStore(options: IdempotencyStoreOptions): Promise<IdempotencyStore> {
  return IdempotencyStore.open(options);
}

function parseLine(value: unknown): Line | undefined {
  if (!isRecord(value)) return undefined;
  if (value.op === 'delete' && typeof value.key === 'string') return { op: 'delete', key: value.key };
  if (value.op !== 'put' || !isRecord(value.record)) return undefined;
  const r = value.record;
  if (typeof r.key !== 'string' || typeof r.hash !== 'string' || typeof r.orderRef !== 'string' || typeof r.beganAt !== 'number') {
    return undefined;
  }
  return { op: 'put', record: r as unknown as IdempotencyRecord };
}
