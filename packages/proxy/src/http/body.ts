import type { IncomingMessage } from 'node:http';
import { ApiError, UnavailableError } from '@ibrest/common';
import { PayloadTooLargeError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * The proxy-wide budget of request-body bytes held in memory at once. Every buffered byte is taken from it and
 * given back when its response closes, so stalled or slow uploads, however many, hold at most `limit` bytes.
 */
export class BodyBudget {
  private used = 0;
  constructor(
    readonly limit: number,
    private readonly onChange: (used: number) => void = () => undefined,
  ) {}

  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    this.onChange(this.used);
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.onChange(this.used);
  }

  get inUse(): number {
    return this.used;
  }
}

/** 503: the proxy holds its whole body budget in other requests' bodies; retry shortly. */
export class BodyBudgetExhaustedError extends UnavailableError {
  constructor(limit: number) {
    const message = `The proxy is holding its limit of ${limit} request-body bytes; retry shortly`;
    super('BODY_BUDGET_EXHAUSTED', message, 1, { limit });
  }
}

/** 408: the body did not arrive in time. */
export class BodyTimeoutError extends ApiError {
  constructor(timeoutMs: number) {
    super(408, 'BODY_TIMEOUT', `The request body did not arrive within ${timeoutMs} ms`, { details: { timeoutMs } });
  }
}

export interface BodyLimits {
  /** Largest body of one request. */
  maxBytes: number;
  /** Longest time from the first body read to its end. */
  timeoutMs: number;
  budget: BodyBudget;
  /** Called with the bytes taken from the budget, once they may be given back (response closed). */
  hold(bytes: number): void;
}

/**
 * Reads the whole request body (bounded in size, time, and proxy-wide bytes). Buffering lets the proxy re-send
 * a request whose connection was refused (nothing reached the worker) and strip `Transfer-Encoding` without
 * changing the body. IB request bodies are small JSON documents; streaming uploads are not part of the API.
 * Every refusal destroys the rest of the upload: a refused sender gets its answer and nothing more is read.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes, budget } = limits;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return discardRest(req).then(() => Promise.reject(new PayloadTooLargeError(maxBytes)));
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error): void => {
      cleanup();
      budget.give(size);
      chunks.length = 0;
      // Nothing more of this upload is wanted: stop reading it (the answer still goes out on the socket).
      req.pause();
      reject(err);
    };
    const timer = setTimeout(() => fail(new BodyTimeoutError(limits.timeoutMs)), limits.timeoutMs);
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > maxBytes) {
        cleanup();
        budget.give(size);
        chunks.length = 0;
        void discardRest(req).then(() => reject(new PayloadTooLargeError(maxBytes)));
        return;
      }
      if (!budget.take(chunk.length)) return fail(new BodyBudgetExhaustedError(budget.limit));
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      limits.hold(size);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => {
      if (!req.complete) onError(new Error('client closed the connection before sending the whole body'));
    };
    function cleanup(): void {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** How much of a refused oversized upload is still read (and thrown away) before its 413 is sent. */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 2_000;

/**
 * A client still sending an oversized body when the 413 goes out meets a closed socket (EPIPE) instead of the
 * answer. So the rest is read and discarded first — nothing is held — for at most {@link LINGER_BYTES} or
 * {@link LINGER_MS}; past either the connection is dropped. Resolves when the 413 may be sent.
 */
function discardRest(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', count).off('end', done).off('close', done);
      resolve();
    };
    const stop = (): void => {
      done();
      if (!req.complete) req.destroy();
    };
    const count = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > LINGER_BYTES) stop();
    };
    const timer = setTimeout(stop, LINGER_MS);
    timer.unref();
    if (req.complete) return done();
    req.on('data', count).once('end', done).once('close', done);
    req.resume();
  });
}
