/**
 * Preloaded (`node --import`) into every child that `startService` starts. The parent holds the write end of a pipe
 * on the child's fd 3 (named by IBREST_PARENT_PIPE_FD) and never writes to it; when the parent dies, however it
 * dies (SIGKILL included), the kernel closes that end and the child reads end-of-file. The child then shuts down
 * as on SIGTERM (its own handler closes the order storage and the IB connection), and exits by force if that takes
 * longer than IBREST_PARENT_GRACE_MS (default 10 s). So no orphan keeps a data directory or a port after its
 * supervisor is gone, and the next `npm start` finds them free.
 */
import { Socket } from 'node:net';

const fd = Number(process.env.IBREST_PARENT_PIPE_FD);
if (Number.isInteger(fd) && fd > 2) {
  // Not inherited by this child's own children.
  delete process.env.IBREST_PARENT_PIPE_FD;
  const graceMs = Number(process.env.IBREST_PARENT_GRACE_MS ?? 10_000);
  const pipe = new Socket({ fd, readable: true, writable: false });
  let gone = false;
  const parentGone = (): void => {
    if (gone) return;
    gone = true;
    setTimeout(() => process.exit(1), Number.isFinite(graceMs) ? graceMs : 10_000).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  pipe.on('data', () => {});
  pipe.on('end', parentGone);
  pipe.on('close', parentGone);
  pipe.on('error', parentGone);
  // The watch must not keep the child alive by itself.
  pipe.unref();
}
