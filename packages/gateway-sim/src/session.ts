import type { Socket } from 'node:net';
import type { Logger } from '@ibrest/common';
import { Random } from './engine/random.js';
import { ibDateTime } from './engine/clock.js';
import { errMsg } from './encode/connection.js';
import { encodeFrame, InboundParser, parseVersionRange } from './wire/framing.js';
import { type Field } from './wire/fields.js';
import { SIM_MIN_VERSION } from './wire/server-versions.js';
import { Subscriptions } from './subscriptions.js';

export type SessionState = 'handshake' | 'awaiting-start' | 'ready' | 'closed';

/** What a session needs from the simulator that owns it. */
export interface SessionHost {
  readonly maxServerVersion: number;
  readonly maxFrameBytes: number;
  readonly log: Logger;
  now(): number;
  replyDelayMs(): number;
  fragment(): { maxChunk: number } | undefined;
  onMessage(s: Session, fields: string[]): void;
  onClosed(s: Session): void;
}

/**
 * One client connection: handshake and version negotiation, framing in both directions, and the
 * per-client state (clientId, subscriptions). Request semantics live in the handlers.
 */
export class Session {
  state: SessionState = 'handshake';
  serverVersion = 0;
  clientId: number | undefined;
  readonly subs = new Subscriptions();
  readonly connectedAt: number;
  private readonly parser: InboundParser;
  private readonly drip: Random;
  private dripQueue: Buffer[] = [];
  private dripping = false;
  private closing = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    this.connectedAt = host.now();
    this.parser = new InboundParser(host.maxFrameBytes);
    this.drip = new Random(id * 7919);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => host.log.debug({ err, connectionId: id }, 'socket error'));
    socket.on('close', () => this.onClose());
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen) return;
    for (const ev of this.parser.push(chunk)) {
      if (ev.kind === 'fatal') {
        this.host.log.warn(
          { connectionId: this.id, clientId: this.clientId, reason: ev.reason, detail: ev.detail },
          'closing connection: bad input',
        );
        this.destroy();
        return;
      }
      if (ev.kind === 'handshake') {
        this.negotiate(ev.versions);
        continue;
      }
      try {
        this.host.onMessage(this, ev.fields);
      } catch (err) {
        this.host.log.error({ err, connectionId: this.id, clientId: this.clientId }, 'request handler failed');
      }
      if (!this.isOpen) return;
    }
  }

  /** False once closed or closing: no further input is processed. */
  get isOpen(): boolean {
    return this.state !== 'closed' && !this.closing;
  }

  /**
   * Negotiated version = min(client max, simulator max). A client whose range does not overlap 164…max is
   * refused by closing the socket, as TWS does with clients it cannot serve.
   */
  private negotiate(versions: string): void {
    const range = parseVersionRange(versions);
    const max = this.host.maxServerVersion;
    if (!range || range.max < SIM_MIN_VERSION || range.min > max) {
      this.host.log.warn({ connectionId: this.id, versions }, 'closing connection: unsupported client version range');
      this.destroy();
      return;
    }
    this.serverVersion = Math.min(range.max, max);
    this.state = 'awaiting-start';
    // The first reply goes out in one write: some clients crash when it is split across reads.
    this.socket.write(encodeFrame([this.serverVersion, `${ibDateTime(this.host.now())} GMT`]));
    this.host.log.debug({ connectionId: this.id, versions, serverVersion: this.serverVersion }, 'handshake');
  }

  /** Sends one message, honouring the reply delay and fragmented ("drip") delivery when configured. */
  send(fields: Field[]): void {
    if (this.state === 'closed') return;
    const buf = encodeFrame(fields);
    const delay = this.host.replyDelayMs();
    if (delay > 0) setTimeout(() => this.write(buf), delay);
    else this.write(buf);
  }

  sendError(id: number, code: number, msg: string): void {
    this.send(errMsg(this.serverVersion, id, code, msg));
  }

  private write(buf: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    const frag = this.host.fragment();
    if (!frag) {
      this.socket.write(buf);
      return;
    }
    for (let i = 0; i < buf.length;) {
      const n = Math.min(buf.length - i, this.drip.int(1, frag.maxChunk));
      this.dripQueue.push(buf.subarray(i, i + n));
      i += n;
    }
    if (!this.dripping) this.pump();
  }

  /** Writes one small chunk per event-loop turn so the client really sees them in separate reads. */
  private pump(): void {
    const next = this.dripQueue.shift();
    if (!next || this.state === 'closed' || this.socket.destroyed) {
      this.dripping = false;
      if (this.closing && !this.socket.destroyed) this.socket.end();
      return;
    }
    this.dripping = true;
    this.socket.write(next);
    setImmediate(() => this.pump());
  }

  /** Closes after pending output is flushed (error 326, third rate violation). */
  endAfterFlush(): void {
    if (this.closing) return;
    this.closing = true;
    const delay = this.host.replyDelayMs();
    setTimeout(() => {
      if (!this.dripping && !this.socket.destroyed) this.socket.end();
      // Do not wait forever for a peer that never reads.
      setTimeout(() => this.destroy(), 1000).unref();
    }, delay);
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.dripQueue = [];
    this.host.onClosed(this);
  }
}
