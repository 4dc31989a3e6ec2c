import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApiError } from '@ibrest/common';

/** Two writers appending to the same log would interleave cursors and corrupt it; one writer per file set. */
export class DataDirLockedError extends ApiError {
  constructor(path: string, pid: number) {
    super(500, 'DATA_DIR_LOCKED', `${path} is held by process ${pid}; each data directory has one writer`, {
      details: { path, pid },
    });
  }
}

// Locks held by this process, so a second open in the same process fails even though the pid matches.
const heldHere = new Set<string>();

/**
 * Takes `<path>` as a pid lock file. A lock whose process is gone (killed, crashed) is stale and taken over;
 * so is one carrying our own pid that this process does not hold, which is the normal case after a container
 * restart where the worker runs as pid 1 again.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const abs = resolve(path);
  if (heldHere.has(abs)) throw new DataDirLockedError(abs, process.pid);
  try {
    const handle = await open(abs, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number((await readFile(abs, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new DataDirLockedError(abs, owner);
    }
    await writeFile(abs, String(process.pid));
  }
  heldHere.add(abs);
  return async () => {
    if (!heldHere.delete(abs)) return;
    await unlink(abs).catch(() => {});
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
