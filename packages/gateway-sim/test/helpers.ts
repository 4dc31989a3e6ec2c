import { connect, type Socket } from 'node:net';
import ib from '@stoqey/ib';

export const { IBApi, IBApiNext, EventName } = ib;
/** IBApi with its event overloads relaxed: tests listen to many events generically. */

export type IBApiT = any;

export interface SeenError {
  code: number;
  reqId: number;
  message: string;
}

/** Polls until `pred` holds; no fixed sleeps. */
export async function waitUntil(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * An unmodified @stoqey/ib IBApi connected with explicit host, port and clientId. Every error event is
 * collected: 505 is @stoqey/ib's strict decoder reporting a layout mismatch, which fails conformance.
 */
export async function connectApi(
  port: number,
  clientId: number,
  maxReqPerSec = 1000,
  beforeConnect?: (api: IBApiT) => void,
): Promise<{ api: IBApiT; errors: SeenError[]; infos: SeenError[] }> {
  const api = new IBApi({ host: '127.0.0.1', port, clientId, maxReqPerSec });
  beforeConnect?.(api);
  const errors: SeenError[] = [];
  strictBoundaries(api, errors);
  const infos: SeenError[] = [];
  api.on(EventName.error, (err: Error, code: number, reqId: number) =>
    errors.push({ code, reqId, message: err?.message ?? String(err) }),
  );
  api.on(EventName.info, (message: string, code: number) => infos.push({ code, reqId: -1, message }));
  const ready = new Promise<void>((resolve, reject) => {
    api.once(EventName.nextValidId, () => resolve());
    api.once(EventName.disconnected, () => reject(new Error('disconnected before nextValidId')));
  });
  api.connect(clientId);
  await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error('connect timeout')), 3000))]);
  return { api, errors, infos };
}

/** Resolves with the arguments of the first `event` whose arguments satisfy `filter`. */
export function nextEvent(
  api: IBApiT,
  event: string,
  filter: (...args: any[]) => boolean = () => true,
  timeoutMs = 3000,
): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      api.off(event as never, h);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const h = (...args: any[]): void => {
      if (!filter(...args)) return;
      clearTimeout(t);
      api.off(event as never, h);
      resolve(args);
    };
    api.on(event as never, h);
  });
}

/** Every server version the simulator serves: conformance runs at each one. */
export const ALL_VERSIONS: readonly number[] = Array.from({ length: 193 - 164 + 1 }, (_, i) => 164 + i);

export const decoderErrors = (errors: SeenError[]): SeenError[] => errors.filter((e) => e.code === 505);

/**
 * Our patched @stoqey/ib ignores fields left at the end of a message, as IB's EDecoder does. The conformance
 * tests still want every message read to its last field: after each message, anything the decoder left before
 * the next message boundary is reported as a 505 ("fields left").
 */
export function strictBoundaries(api: IBApiT, errors: SeenError[]): void {
  const decoder = api.controller.decoder as { processMsg(id: number): void; dataQueue: Array<string | undefined> };
  const original = decoder.processMsg.bind(decoder);
  decoder.processMsg = (msgId: number): void => {
    original(msgId);
    if (decoder.dataQueue.length > 0 && decoder.dataQueue[0] !== undefined) {
      const left = decoder.dataQueue.slice(0, decoder.dataQueue.indexOf(undefined) >>> 0);
      errors.push({ code: 505, reqId: -1, message: `message ${msgId}: fields left ${JSON.stringify(left)}` });
    }
  };
}

export const AAPL = { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' } as any;
export const MSFT = { symbol: 'MSFT', secType: 'STK', exchange: 'SMART', currency: 'USD' } as any;

/** A raw TCP client speaking the V100 framing, for bad-input and limit tests. */
export class RawClient {
  readonly frames: string[][] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private first = true;
  serverVersion = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    return new RawClient(s);
  }

  /** Handshake + START_API; resolves once NEXT_VALID_ID arrived. */
  static async ready(port: number, clientId: number, versions = 'v100..193'): Promise<RawClient> {
    const c = await RawClient.open(port);
    c.handshake(versions);
    await waitUntil(() => c.serverVersion > 0 || c.closed, 2000, 'server version');
    c.send(['71', '2', String(clientId), '']);
    await waitUntil(() => c.has('9') || c.closed, 2000, 'NEXT_VALID_ID');
    return c;
  }

  handshake(versions: string): void {
    const v = Buffer.from(versions);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    this.socket.write(Buffer.concat([Buffer.from('API\0', 'latin1'), len, v]));
  }

  send(fields: string[]): void {
    this.socket.write(RawClient.frame(fields));
  }

  static frame(fields: string[]): Buffer {
    const body = Buffer.from(fields.map((f) => f + '\0').join(''));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
  }

  has(msgId: string, pred: (f: string[]) => boolean = () => true): boolean {
    return this.frames.some((f) => f[0] === msgId && pred(f));
  }

  errors(code: number): string[][] {
    return this.frames.filter((f) => f[0] === '4' && f[3] === String(code));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      const fields = this.buf
        .subarray(4, 4 + n)
        .toString('utf8')
        .split('\0');
      fields.pop();
      this.buf = this.buf.subarray(4 + n);
      if (this.first) {
        this.first = false;
        this.serverVersion = Number(fields[0]);
      } else {
        this.frames.push(fields);
      }
    }
  }
}
