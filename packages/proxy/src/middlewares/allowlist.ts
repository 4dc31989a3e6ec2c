import type { Middleware } from '../context.js';
import { ForbiddenError } from '../errors.js';
import type { ProxyMetrics } from '../metrics.js';
import type { Allowlist } from '../security/allowlist.js';

/** First refusal in the chain: an address outside the allowlist learns nothing, not even whether a key is valid. */
export function allowlist(list: Allowlist, metrics: ProxyMetrics): Middleware {
  return async (ctx, next) => {
    const address = ctx.req.socket.remoteAddress;
    if (!list.allows(address)) {
      metrics.authFailures.inc({ reason: 'ip' });
      throw new ForbiddenError('ADDRESS_NOT_ALLOWED', 'This client address is not in the allowlist', { address });
    }
    await next();
  };
}
