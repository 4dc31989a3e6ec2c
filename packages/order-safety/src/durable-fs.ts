import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * "Durable" in this package means: the bytes were written and `fdatasync`ed, and every directory entry that
 * names the file (creation, rename) was made durable by fsyncing the directory itself. Without the directory
 * fsync a freshly created segment can vanish after a power cut even though its contents were synced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows, a few network filesystems) refuse to open or sync a directory; there is
    // nothing stronger we can do there, so the file-level sync is the guarantee.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}

/** Replaces `path` atomically: write a temp file, sync it, rename over the target, sync the directory. */
export async function writeFileAtomic(path: string, contents: string, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(contents, 'utf8');
    if (sync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  if (sync) await fsyncDir(dirname(path));
}

export interface RecoveredLines<T> {
  records: T[];
  /** Bytes of the file that hold complete, valid records. */
  validBytes: number;
  /** Bytes after the last valid record (a torn write from a crash); 0 when the file was clean. */
  tornBytes: number;
}

/**
 * Reads a JSON-lines file and keeps the longest valid prefix. A line is valid when it ends with `\n`, parses
 * as JSON and passes `accept` (which may check, for example, that cursors are consecutive). Everything from
 * the first invalid line on is a torn tail: a crash can only damage bytes that were never acknowledged,
 * because a record is acknowledged only after the sync that covers it, and records are written in order.
 * With `repair`, the tail is cut off (and the truncation synced) so later appends start on a clean line.
 */
export async function recoverJsonLines<T>(
  path: string,
  accept: (value: unknown, previous: T | undefined) => T | undefined,
  options: { repair: boolean; sync: boolean },
): Promise<RecoveredLines<T>> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], validBytes: 0, tornBytes: 0 };
    throw err;
  }
  const records: T[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    if (nl === -1) break;
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8', offset, nl));
    } catch {
      break;
    }
    const record = accept(value, records[records.length - 1]);
    if (record === undefined) break;
    records.push(record);
    offset = nl + 1;
  }
  const tornBytes = buf.length - offset;
  if (tornBytes > 0 && options.repair) {
    await truncate(path, offset);
    if (options.sync) {
      const handle = await open(path, 'r+');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
  }
  return { records, validBytes: offset, tornBytes };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
