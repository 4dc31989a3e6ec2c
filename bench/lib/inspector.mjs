import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * A minimal client of Node's inspector protocol (WebSocket, text frames only), enough to force a full GC in a
 * child and read its memory afterwards. The children have no GC hook of their own, and Node 20 has no
 * WebSocket client without a flag, so the handshake and framing are done here over a plain TCP socket.
 * Children opt in with NODE_OPTIONS=--inspect=127.0.0.1:0 and announce the URL on stderr.
 */
export const INSPECTOR_LINE = /Debugger listening on (ws:\/\/\S+)/;

export async function inspectorSession(wsUrl) {
  const u = new URL(wsUrl);
  const socket = connect({ host: u.hostname, port: Number(u.port) });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );

  let buf = Buffer.alloc(0);
  let upgraded = false;
  let nextId = 1;
  const pending = new Map();
  let onUpgrade;
  const upgradedP = new Promise((resolve, reject) => {
    onUpgrade = resolve;
    socket.once('error', reject);
  });

  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      buf = buf.subarray(end + 4);
      onUpgrade();
    }
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const opcode = buf[0] & 0x0f;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode !== 1) continue;
      const msg = JSON.parse(payload.toString('utf8'));
      const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (p) {
        pending.delete(msg.id);
        if (msg.error) p.reject(new Error(msg.error.message));
        else p.resolve(msg.result);
      }
    }
  });
  await upgradedP;

  function send(method, params = {}) {
    const id = nextId++;
    const payload = Buffer.from(JSON.stringify({ id, method, params }));
    const mask = randomBytes(4);
    let header;
    if (payload.length < 126) header = Buffer.from([0x81, 0x80 | payload.length]);
    else {
      header = Buffer.alloc(4);
      header[0] = 0x81;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(payload.length, 2);
    }
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
    socket.write(Buffer.concat([header, mask, payload]));
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  return {
    send,
    /** Full GC (twice: finalizers free more on the second pass), then the child's process.memoryUsage(). */
    async gcAndMemory() {
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.collectGarbage');
      const r = await send('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      return JSON.parse(r.result.value);
    },
    close() {
      socket.destroy();
    },
  };
}
