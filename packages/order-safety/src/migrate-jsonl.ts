import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageCorruptError, type StorageFile } from './storage-file.js';

/**
 * One-time upgrade from the JSON-lines files of earlier versions (`orders-<first cursor>.jsonl` segments,
 * `audit-….jsonl`, `idempotency.jsonl`). Runs at open when such files are present: every line is read strictly
 * (a damaged line anywhere but the very end refuses the start, naming file and line), the records go into the
 * database in one transaction with their original cursors, and the files are then renamed to `*.migrated` (kept,
 * never deleted). A crash in between is harmless: the transaction marks the migration done, so the next start only
 * finishes the renames. Migration is the one start-up step that needs free space; if it cannot get it, the start
 * fails with the reason and the JSON files are untouched.
 */
export interface MigrationReport {
  files: string[];
  records: number;
  /** Bytes of a torn final line that were not migrated (a write that was never acknowledged). */
  tornBytes: number;
}

const MIGRATED_KEY = 'migrated-from-jsonl';

interface Line {
  value: Record<string, unknown>;
  lineNo: number;
}

/** Complete, parseable lines of `path`; a bad line is tolerated only as the very last thing in the last file. */
function readLines(
  path: string,
  isLastFile: boolean,
  accept: (v: Record<string, unknown>, prev?: Line) => boolean,
): {
  lines: Line[];
  tornBytes: number;
} {
  const buf = readFileSync(path);
  const lines: Line[] = [];
  let offset = 0;
  let lineNo = 0;
  while (offset < buf.length) {
    lineNo++;
    const nl = buf.indexOf(0x0a, offset);
    const end = nl === -1 ? buf.length : nl;
    let value: unknown;
    try {
      value = nl === -1 ? undefined : JSON.parse(buf.toString('utf8', offset, end));
    } catch {
      value = undefined;
    }
    const ok =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      accept(value as Record<string, unknown>, lines[lines.length - 1]);
    if (!ok) {
      const isFinal = nl === -1 || nl === buf.length - 1;
      if (isLastFile && isFinal) return { lines, tornBytes: buf.length - offset };
      throw new StorageCorruptError(path, `line ${lineNo} is damaged; later lines would be lost or reused`);
    }
    lines.push({ value: value as Record<string, unknown>, lineNo });
    offset = end + 1;
  }
  return { lines, tornBytes: 0 };
}

function alreadyMigrated(file: StorageFile): boolean {
  return file.db.prepare('SELECT v FROM meta WHERE k = ?').get(MIGRATED_KEY) !== undefined;
}

function finish(paths: string[]): void {
  for (const p of paths) renameSync(p, `${p}.migrated`);
}

function inTransaction(file: StorageFile, what: string, work: () => void): void {
  try {
    file.db.exec('BEGIN IMMEDIATE');
    work();
    file.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run(MIGRATED_KEY, new Date().toISOString());
    file.db.exec('COMMIT');
  } catch (err) {
    try {
      if (file.db.isTransaction) file.db.exec('ROLLBACK');
    } catch {
      // rolled back already
    }
    if (err instanceof StorageCorruptError) throw err;
    throw new Error(
      `migrating ${what} into ${file.path} failed (${err instanceof Error ? err.message : String(err)}); ` +
        'the JSON-lines files are untouched: free space or fix the cause and start again',
      { cause: err },
    );
  }
}

/** Moves `<prefix>-NNNNNNNNNNNNNNNN.jsonl` segments into the `log` table, keeping their cursors. */
export function migrateLogSegments(
  file: StorageFile,
  dir: string,
  prefix: string,
  indexed: Record<string, string>,
): MigrationReport | undefined {
  const re = new RegExp(`^${prefix}-(\\d{16})\\.jsonl$`);
  const segments = readdirSync(dir)
    .map((name) => re.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ first: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.first - b.first);
  if (segments.length === 0) return undefined;
  const paths = segments.map((s) => s.path);
  if (alreadyMigrated(file)) {
    finish(paths);
    return { files: paths, records: 0, tornBytes: 0 };
  }
  const columns = Object.entries(indexed);
  const cols = ['cursor', 'body', 'crc', ...columns.map(([c]) => c)];
  const insert = file.db.prepare(`INSERT INTO log (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  let records = 0;
  let tornBytes = 0;
  let expected = segments[0]!.first;
  inTransaction(file, `${prefix} segments`, () => {
    segments.forEach((seg, i) => {
      if (i > 0 && seg.first !== expected) {
        throw new StorageCorruptError(seg.path, `segment starts at cursor ${seg.first}, expected ${expected}`);
      }
      const read = readLines(
        seg.path,
        i === segments.length - 1,
        (v, prev) => v.cursor === (prev === undefined ? seg.first : (prev.value.cursor as number) + 1),
      );
      tornBytes += read.tornBytes;
      for (const { value } of read.lines) {
        const { cursor, ...rest } = value;
        const body = JSON.stringify(rest);
        const extra = columns.map(([, field]) => {
          const v = rest[field];
          return typeof v === 'string' || typeof v === 'number' ? v : null;
        });
        insert.run(cursor as number, body, crc32(body), ...extra);
        records++;
        expected = (cursor as number) + 1;
      }
    });
  });
  finish(paths);
  return { files: paths, records, tornBytes };
}

/** Folds `idempotency.jsonl` (put/delete lines) and hands each live record to `put`. */
export function migrateIdempotencyFile(
  file: StorageFile,
  dir: string,
  put: (record: Record<string, unknown>) => void,
): MigrationReport | undefined {
  const path = join(dir, 'idempotency.jsonl');
  if (!existsSync(path)) return undefined;
  if (alreadyMigrated(file)) {
    finish([path]);
    return { files: [path], records: 0, tornBytes: 0 };
  }
  const read = readLines(path, true, (v) => {
    if (v.op === 'delete') return typeof v.key === 'string';
    const r = v.record as Record<string, unknown> | undefined;
    return (
      v.op === 'put' &&
      typeof r === 'object' &&
      r !== null &&
      typeof r.key === 'string' &&
      typeof r.hash === 'string' &&
      typeof r.orderRef === 'string' &&
      typeof r.beganAt === 'number'
    );
  });
  const live = new Map<string, Record<string, unknown>>();
  for (const { value } of read.lines) {
    if (value.op === 'delete') live.delete(value.key as string);
    else {
      const r = value.record as Record<string, unknown>;
      live.set(r.key as string, r);
    }
  }
  inTransaction(file, 'idempotency.jsonl', () => {
    for (const record of live.values()) put(record);
  });
  finish([path]);
  return { files: [path], records: live.size, tornBytes: read.tornBytes };
}
