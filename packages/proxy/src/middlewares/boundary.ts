import { isInternalHeader } from '@ibrest/contract';
import { parseIdempotencyKey } from '@ibrest/order-safety';
import type { Middleware } from '../context.js';

const CLOSE_TOKEN = /(^|,)\s*close\s*(,|$)/i;
/** Fields that frame this message: naming them in `Connection` must not change how its body is read. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * The trust boundary, first in the chain: hop-by-hop handling (the fields the client names in `Connection`, and
 * `Connection` itself, are removed; whether it asked to close is remembered), then every `x-ibrest-*` header is
 * dropped, and a repeated or malformed `Idempotency-Key` is refused. Nothing a client sends can set, remove or
 * rename what the proxy later tells a worker: the proxy sets its own internal headers last, after the forwarder's
 * hop-by-hop pass (see forward.ts `requestHeaders`).
 */
export const boundary: Middleware = async (ctx, next) => {
  const headers = ctx.req.headers;
  const connection = headers.connection;
  if (typeof connection === 'string') {
    ctx.clientWantsClose = CLOSE_TOKEN.test(connection);
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && !FRAMING.has(name)) delete headers[name];
    }
    delete headers.connection;
  }
  for (const name of Object.keys(headers)) if (isInternalHeader(name)) delete headers[name];
  // Node joins repeated fields into one value ("a, b") before the forwarder sees them, so a second
  // Idempotency-Key would reach the worker as one made-up key. The raw fields still show it: refuse it here
  // (400 IDEMPOTENCY_KEY_INVALID, the worker's own rule and code), before anything is forwarded.
  parseIdempotencyKey(ctx.req.rawHeaders);
  await next();
};
