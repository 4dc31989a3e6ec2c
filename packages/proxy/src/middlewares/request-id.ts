import { randomUUID } from 'node:crypto';
import type { Middleware } from '../context.js';

/** Accepted incoming ids: short and log-safe, so a caller cannot inject into log lines or headers. */
const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Propagates the caller's `X-Request-Id` (or a new UUID) to the worker, the response and every log line
 * (`ctx.log` binds it when first used).
 */
export const requestId: Middleware = async (ctx, next) => {
  const incoming = ctx.req.headers['x-request-id'];
  const id = typeof incoming === 'string' && VALID_ID.test(incoming) ? incoming : randomUUID();
  ctx.reqId = id;
  ctx.req.headers['x-request-id'] = id;
  ctx.res.setHeader('x-request-id', id);
  await next();
};
