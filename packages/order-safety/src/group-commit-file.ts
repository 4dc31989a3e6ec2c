import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, writeFileAtomic } from './durable-fs.js';

/**
 * An append-only file with group commit: appends that arrive while a write+sync is in progress are queued and
 * written together by the next single write and a single `fdatasync`, so N concurrent appends cost about two
 * syncs instead of N. Every operation (append, switch to another file, atomic replace) runs in the order it was
 * enqueued, which is what lets callers assign sequence numbers synchronously at enqueue time.
 *
 * After a failed write or sync the file is poisoned: what reached the disk is unknown (a failed fsync may have
 * dropped dirty pages, so retrying it would lie), every queued and later operation fails with the first error,
 * and only reopening (which recovers the valid prefix) brings it back.
 */
type Op =
  | { kind: 'data'; bytes: Buffer; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'switch'; path: string; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'replace'; contents: string; resolve: () => void; reject: (err: Error) => void };

export interface GroupCommitFileOptions {
  /** Sync data after every batch; false trades durability for speed (tests, throwaway data). */
  sync: boolean;
}

export class GroupCommitFile {
  #handle: FileHandle;
  #path: string;
  readonly #sync: boolean;
  readonly #queue: Op[] = [];
  #draining = false;
  #failure: Error | undefined;
  #closed = false;
  /** Number of write+sync rounds done; exposed so tests and metrics can see batching at work. */
  batches = 0;

  private constructor(handle: FileHandle, path: string, sync: boolean) {
    this.#handle = handle;
    this.#path = path;
    this.#sync = sync;
  }

  /** Opens (creating if needed) `path` for appending; a newly created file's directory entry is synced. */
  static async open(path: string, options: GroupCommitFileOptions): Promise<GroupCommitFile> {
    const handle = await openForAppend(path, options.sync);
    return new GroupCommitFile(handle, path, options.sync);
  }

  get path(): string {
    return this.#path;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves once `data` is on disk (synced, when sync is on). */
  append(data: string): Promise<void> {
    return this.#enqueue((resolve, reject) => ({ kind: 'data', bytes: Buffer.from(data, 'utf8'), resolve, reject }));
  }

  /** After everything queued before it, continues appending to a new file at `path` (segment rotation). */
  switchTo(path: string): Promise<void> {
    return this.#enqueue((resolve, reject) => ({ kind: 'switch', path, resolve, reject }));
  }

  /** After everything queued before it, atomically replaces the file's contents (compaction). */
  replace(contents: string): Promise<void> {
    return this.#enqueue((resolve, reject) => ({ kind: 'replace', contents, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#enqueue((resolve, reject) => ({ kind: 'data', bytes: Buffer.alloc(0), resolve, reject })).catch(() => {});
    this.#closed = true;
    await this.#handle.close();
  }

  #enqueue(make: (resolve: () => void, reject: (err: Error) => void) => Op): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.#path} is closed`));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(make(resolve, reject));
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!;
        if (head.kind === 'data') {
          let n = 0;
          while (n < this.#queue.length && this.#queue[n]!.kind === 'data') n++;
          const batch = this.#queue.splice(0, n) as Extract<Op, { kind: 'data' }>[];
          await this.#run(batch, () => this.#writeBatch(batch.map((op) => op.bytes)));
        } else {
          this.#queue.shift();
          await this.#run([head], () => (head.kind === 'switch' ? this.#switch(head.path) : this.#replace(head.contents)));
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #run(ops: Op[], work: () => Promise<void>): Promise<void> {
    if (this.#failure) {
      for (const op of ops) op.reject(this.#failure);
      return;
    }
    try {
      await work();
      for (const op of ops) op.resolve();
    } catch (err) {
      this.#failure = new Error(`writing ${this.#path} failed; reopen to recover`, { cause: err });
      for (const op of ops) op.reject(this.#failure);
      for (const op of this.#queue.splice(0)) op.reject(this.#failure);
    }
  }

  async #writeBatch(chunks: Buffer[]): Promise<void> {
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (bytes.length === 0) return;
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    if (this.#sync) await this.#handle.datasync();
    this.batches++;
  }

  async #switch(path: string): Promise<void> {
    const next = await openForAppend(path, this.#sync);
    const previous = this.#handle;
    this.#handle = next;
    this.#path = path;
    await previous.close();
  }

  async #replace(contents: string): Promise<void> {
    await writeFileAtomic(this.#path, contents, this.#sync);
    const next = await open(this.#path, 'a');
    const previous = this.#handle;
    this.#handle = next;
    await previous.close();
  }
}

async function openForAppend(path: string, sync: boolean): Promise<FileHandle> {
  // 'wx' first tells us whether the file is new, and a new directory entry needs a directory sync.
  try {
    const created = await open(path, 'wx');
    await created.close();
    if (sync) await fsyncDir(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return open(path, 'a');
}
