import { formatField, type Field } from './fields.js';

/** The V100 handshake magic a client sends before its version range. */
export const API_MAGIC = Buffer.from('API\0', 'latin1');

/**
 * Largest frame accepted from a client. @stoqey/ib refuses to buffer more than 0xFFFFFF bytes; the
 * simulator applies the same bound inbound and closes a connection that announces anything larger,
 * without buffering it.
 */
export const DEFAULT_MAX_FRAME_BYTES = 0xffffff;
const MAX_HANDSHAKE_BYTES = 1024;

/** One outgoing message: 4-byte big-endian length, then NUL-terminated fields (the last one too). */
export function encodeFrame(fields: readonly Field[]): Buffer {
  const body = Buffer.from(fields.map((f) => formatField(f) + '\0').join(''), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

export type InboundEvent =
  | { kind: 'handshake'; versions: string }
  | { kind: 'message'; fields: string[]; bytes: number }
  | { kind: 'fatal'; reason: 'bad-magic' | 'bad-handshake' | 'frame-too-large'; detail: string };

/**
 * Splits a client's byte stream into the handshake and then frames. Bytes may arrive in any chunking
 * (some clients write `API\0` and the version string separately), so everything is buffered until complete.
 * A fatal event ends parsing: the session closes the connection.
 */
export class InboundParser {
  private buf: Buffer = Buffer.alloc(0);
  private handshakeDone = false;
  private dead = false;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  push(chunk: Buffer): InboundEvent[] {
    if (this.dead) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: InboundEvent[] = [];
    for (;;) {
      const ev = this.handshakeDone ? this.nextFrame() : this.nextHandshake();
      if (!ev) break;
      out.push(ev);
      if (ev.kind === 'fatal') {
        this.dead = true;
        this.buf = Buffer.alloc(0);
        break;
      }
    }
    return out;
  }

  private nextHandshake(): InboundEvent | undefined {
    const n = Math.min(this.buf.length, API_MAGIC.length);
    // Decide as soon as the bytes can no longer be a prefix of "API\0".
    if (!this.buf.subarray(0, n).equals(API_MAGIC.subarray(0, n))) {
      return { kind: 'fatal', reason: 'bad-magic', detail: this.buf.subarray(0, 16).toString('hex') };
    }
    if (this.buf.length < 8) return undefined;
    const len = this.buf.readUInt32BE(4);
    if (len === 0 || len > MAX_HANDSHAKE_BYTES) {
      return { kind: 'fatal', reason: 'bad-handshake', detail: `version string length ${len}` };
    }
    if (this.buf.length < 8 + len) return undefined;
    const versions = this.buf.subarray(8, 8 + len).toString('utf8');
    this.buf = this.buf.subarray(8 + len);
    this.handshakeDone = true;
    return { kind: 'handshake', versions };
  }

  private nextFrame(): InboundEvent | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readUInt32BE(0);
    if (len > this.maxFrameBytes) {
      return { kind: 'fatal', reason: 'frame-too-large', detail: `frame of ${len} bytes (max ${this.maxFrameBytes})` };
    }
    if (this.buf.length < 4 + len) return undefined;
    const payload = this.buf.subarray(4, 4 + len).toString('utf8');
    this.buf = this.buf.subarray(4 + len);
    const fields = payload.split('\0');
    // Every field is NUL-terminated, so a well-formed payload ends with an empty remainder.
    if (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
    return { kind: 'message', fields, bytes: len };
  }
}

/** Parses "v100..193" (optionally followed by " connectOptions") into the client's version range. */
export function parseVersionRange(s: string): { min: number; max: number } | undefined {
  const m = /^v(\d+)(?:\.\.(\d+))?(?:\s.*)?$/s.exec(s.trim());
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) return undefined;
  return { min, max };
}
