import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reads the whole request body (bounded). Buffering lets the proxy re-send a request whose connection
 * was refused (nothing reached the worker) and strip `Transfer-Encoding` without changing the body.
 * IB request bodies are small JSON documents; streaming uploads are not part of the API.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(limit));
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error('client closed the connection before sending the whole body'));
    };
    function cleanup(): void {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
