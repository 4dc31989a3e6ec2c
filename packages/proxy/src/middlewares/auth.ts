import type { Middleware } from '../context.js';
import { AuthRequiredError, ForbiddenError } from '../errors.js';
import type { ProxyMetrics } from '../metrics.js';
import type { ApiKeyStore } from '../security/api-keys.js';

/**
 * API keys (`Authorization: Bearer <key>`), checked against SHA-256 hashes. The route decides the scope
 * (read / trade / admin); open routes (health probes) pass without a key. The key's name, never the key,
 * becomes `ctx.principal` for logs and for per-key policy on the order path; the dispatcher tells the worker
 * (`x-ibrest-key`, `x-ibrest-scopes`), after every other header change.
 */
export function auth(keys: ApiKeyStore, metrics: ProxyMetrics): Middleware {
  return async (ctx, next) => {
    const scope = ctx.route?.scope ?? null;
    if (scope === null) return next();
    const header = ctx.req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (m === null) {
      metrics.authFailures.inc({ reason: 'missing_key' });
      throw new AuthRequiredError('An API key is required: Authorization: Bearer <key>');
    }
    const record = keys.find(m[1]!);
    if (record === undefined) {
      metrics.authFailures.inc({ reason: 'bad_key' });
      throw new AuthRequiredError('The API key is not valid');
    }
    ctx.principal = record;
    if (!record.scopes.has(scope)) {
      metrics.authFailures.inc({ reason: 'scope' });
      throw new ForbiddenError('INSUFFICIENT_SCOPE', `This operation needs the "${scope}" scope`, {
        required: scope,
        key: record.name,
        scopes: [...record.scopes],
      });
    }
    // The worker has no use for the caller's key; keeping it off the internal hop keeps it out of worker logs.
    delete ctx.req.headers.authorization;
    return next();
  };
}
