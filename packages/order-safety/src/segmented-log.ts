import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '@ibrest/common';
import { acquireLock } from './dir-lock.js';
import { isRecord, recoverJsonLines } from './durable-fs.js';
import { GroupCommitFile } from './group-commit-file.js';

/**
 * The storage engine under the order journal and the audit log: JSON lines, one record per line, each with a
 * `cursor` that increases by exactly 1, split into segment files named after their first cursor
 * (`<prefix>-0000000000000001.jsonl`). Only the last segment is ever appended to, so only it can have a torn
 * tail; it is scanned and repaired on open. Earlier segments were fully synced before the switch.
 */
export interface LogEntry {
  cursor: number;
}

export interface SegmentedLogOptions {
  dir: string;
  prefix: string;
  sync: boolean;
  /** A segment is closed once it reaches this size. @default 16 MiB */
  maxSegmentBytes?: number;
  /** Recent entries kept in memory so the live feed never touches the disk. @default 10000 */
  tailCacheSize?: number;
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
  /** Bytes cut off the last segment because they were a torn (never acknowledged) write. */
  tornBytes: number;
  segments: number;
}

export class LogClosedError extends ApiError {
  constructor(what: string) {
    super(503, 'LOG_CLOSED', `${what} is closed`);
  }
}

export class LogUnavailableError extends ApiError {
  constructor(what: string, cause: unknown) {
    super(503, 'LOG_UNAVAILABLE', `${what} cannot be written; it must be reopened`, { cause, retryAfter: 1 });
  }
}

interface Segment {
  first: number;
  path: string;
}

const SEGMENT_RE = /^(.+)-(\d{16})\.jsonl$/;

export class SegmentedLog<T extends LogEntry> {
  readonly #opts: Required<SegmentedLogOptions>;
  readonly #segments: Segment[];
  readonly #file: GroupCommitFile;
  readonly #release: () => Promise<void>;
  #next: number;
  #durable: number;
  #segmentBytes: number;
  #tail: T[];
  readonly #listeners = new Set<(entry: T) => void>();
  #closed = false;
  readonly openReport: OpenReport;

  private constructor(init: {
    opts: Required<SegmentedLogOptions>;
    segments: Segment[];
    file: GroupCommitFile;
    release: () => Promise<void>;
    next: number;
    segmentBytes: number;
    tail: T[];
    report: OpenReport;
  }) {
    this.#opts = init.opts;
    this.#segments = init.segments;
    this.#file = init.file;
    this.#release = init.release;
    this.#next = init.next;
    this.#durable = init.next - 1;
    this.#segmentBytes = init.segmentBytes;
    this.#tail = init.tail;
    this.openReport = init.report;
  }

  static async open<T extends LogEntry>(options: SegmentedLogOptions): Promise<SegmentedLog<T>> {
    const opts: Required<SegmentedLogOptions> = { maxSegmentBytes: 16 * 1024 * 1024, tailCacheSize: 10_000, ...options };
    await mkdir(opts.dir, { recursive: true });
    const release = await acquireLock(join(opts.dir, `${opts.prefix}.lock`));
    try {
      const segments = (await readdir(opts.dir))
        .map((name) => SEGMENT_RE.exec(name))
        .filter((m): m is RegExpExecArray => m !== null && m[1] === opts.prefix)
        .map((m) => ({ first: Number(m[2]), path: join(opts.dir, m[0]) }))
        .sort((a, b) => a.first - b.first);
      if (segments.length === 0) segments.push({ first: 1, path: segmentPath(opts, 1) });
      const last = segments[segments.length - 1]!;
      const recovered = await recoverJsonLines<T>(last.path, consecutive<T>(last.first), { repair: true, sync: opts.sync });
      let tail = recovered.records;
      if (tail.length === 0 && segments.length > 1) {
        const previous = segments[segments.length - 2]!;
        tail = (await recoverJsonLines<T>(previous.path, consecutive<T>(previous.first), { repair: false, sync: false })).records;
      }
      const file = await GroupCommitFile.open(last.path, { sync: opts.sync });
      return new SegmentedLog<T>({
        opts,
        segments,
        file,
        release,
        next: last.first + recovered.records.length,
        segmentBytes: recovered.validBytes,
        tail: tail.slice(-opts.tailCacheSize),
        report: { tornBytes: recovered.tornBytes, segments: segments.length },
      });
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** Cursor of the last durable entry; 0 when the log is empty. */
  get lastCursor(): number {
    return this.#durable;
  }

  /** Write+sync rounds so far (each may carry many appends). */
  get batches(): number {
    return this.#file.batches;
  }

  /**
   * Assigns the next cursor synchronously (so concurrent callers are ordered by call order) and resolves
   * with the stored entry once it is durable. Subscribers see it after that, in cursor order.
   */
  append(fields: Omit<T, 'cursor'>): Promise<T> {
    if (this.#closed) return Promise.reject(new LogClosedError(this.#opts.prefix));
    if (this.#file.failure) return Promise.reject(new LogUnavailableError(this.#opts.prefix, this.#file.failure));
    // Cursor first for readable files, and set again after the spread so a stray field can never override it.
    const entry = { cursor: this.#next, ...fields } as T;
    entry.cursor = this.#next;
    const line = `${JSON.stringify(entry)}\n`;
    const size = Buffer.byteLength(line);
    this.#next++;
    if (this.#segmentBytes > 0 && this.#segmentBytes + size > this.#opts.maxSegmentBytes) {
      const segment = { first: entry.cursor, path: segmentPath(this.#opts, entry.cursor) };
      this.#segments.push(segment);
      // Its failure poisons the file, so the append queued right after it reports the error.
      this.#file.switchTo(segment.path).catch(() => {});
      this.#segmentBytes = 0;
    }
    this.#segmentBytes += size;
    return this.#file.append(line).then(
      () => {
        this.#onDurable(entry);
        return entry;
      },
      (err: unknown) => {
        throw new LogUnavailableError(this.#opts.prefix, err);
      },
    );
  }

  /** The most recent durable entry. */
  last(): T | undefined {
    return this.#tail[this.#tail.length - 1];
  }

  /** Durable entries with cursor > since, oldest first. */
  async read({ since = 0, limit = 1000 }: ReadOptions = {}): Promise<T[]> {
    const from = Math.max(0, Math.floor(since)) + 1;
    const max = Math.max(0, Math.floor(limit));
    if (max === 0 || from > this.#durable) return [];
    const head = this.#tail[0];
    if (head !== undefined && from >= head.cursor) {
      const start = from - head.cursor;
      return this.#tail.slice(start, start + max).filter((e) => e.cursor <= this.#durable);
    }
    const out: T[] = [];
    let i = this.#segments.length - 1;
    while (i > 0 && this.#segments[i]!.first > from) i--;
    for (; i < this.#segments.length && out.length < max; i++) {
      const seg = this.#segments[i]!;
      const { records } = await recoverJsonLines<T>(seg.path, consecutive<T>(seg.first), { repair: false, sync: false });
      for (const entry of records) {
        if (entry.cursor < from) continue;
        if (entry.cursor > this.#durable || out.length >= max) break;
        out.push(entry);
      }
    }
    return out;
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
        const batch = await this.read({ since: delivered, limit: 1000 });
        if (!active) return;
        if (batch.length === 0) break;
        for (const entry of batch) deliver(entry);
      }
      for (const entry of buffered.splice(0)) deliver(entry);
      live = true;
    })().catch((err: unknown) => process.emitWarning(`replay of ${this.#opts.prefix} failed: ${String(err)}`));
    return () => {
      active = false;
      this.#listeners.delete(wrapper);
    };
  }

  /** Waits for queued appends, then releases the files and the directory lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    try {
      await this.#file.close();
    } finally {
      await this.#release();
    }
  }

  #onDurable(entry: T): void {
    this.#durable = entry.cursor;
    this.#tail.push(entry);
    if (this.#tail.length > this.#opts.tailCacheSize * 2) this.#tail.splice(0, this.#tail.length - this.#opts.tailCacheSize);
    for (const listener of this.#listeners) safeCall(listener, entry);
  }
}

function segmentPath(opts: { dir: string; prefix: string }, first: number): string {
  return join(opts.dir, `${opts.prefix}-${String(first).padStart(16, '0')}.jsonl`);
}

/** Accepts a line only if it is an object whose cursor follows the previous one (or is the segment's first). */
function consecutive<T extends LogEntry>(first: number) {
  return (value: unknown, previous: T | undefined): T | undefined => {
    if (!isRecord(value)) return undefined;
    const expected = previous === undefined ? first : previous.cursor + 1;
    return value.cursor === expected ? (value as unknown as T) : undefined;
  };
}

function safeCall<T>(listener: (entry: T) => void, entry: T): void {
  try {
    listener(entry);
  } catch (err) {
    // A broken subscriber (a closed SSE socket) must not stop the others or the writer.
    process.emitWarning(`log subscriber threw: ${String(err)}`);
  }
}
