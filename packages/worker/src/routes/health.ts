import { CAPABILITIES } from '@ibrest/contract';
import type { RouteDef } from '../http/route.js';
import type { RouteDeps } from './deps.js';

/** Schema of one capability's status in the readiness body. */
const CAPABILITY_STATUS = {
  type: 'object' as const,
  properties: {
    ok: { type: 'boolean' as const },
    reason: { type: 'string' as const },
    since: { type: 'string' as const },
  },
};

export function healthRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/health/live',
      operationId: 'live',
      summary: 'Liveness: 200 while the process runs',
      tag: 'operations',
      usesIb: false,
      response: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
      errors: {},
      handle: () => ({ body: { status: 'ok' } }),
    },
    {
      method: 'get',
      path: '/health/ready',
      operationId: 'ready',
      summary: 'Readiness per capability: 200 while the IB link is up (else 503 with Retry-After)',
      description:
        'The body says what the worker can serve now. Capabilities: link (socket, handshake, sync, no 1100), ' +
        'mirror (synced once: mirror reads are served, stale while the link is down), orders (link + order ' +
        'storage writable), marketData / historical / secDef (link and no farm of that kind down).',
      tag: 'operations',
      usesIb: false,
      response: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['ready', 'degraded', 'connected', 'connecting', 'disconnected'] },
          code: {
            type: 'string',
            enum: ['CLIENT_ID_STUCK'],
            description: 'Present when the clientId stays refused (326) and cannot fall back (clientId 0)',
          },
          clientId: { type: 'integer', description: 'The clientId in use (a spare after a fallback)' },
          configuredClientId: { type: 'integer' },
          lease: { type: 'string', enum: ['configured', 'spare'] },
          proxyToken: {
            type: 'string',
            enum: ['required'],
            description:
              'Present when every other request must carry the proxy token: a proxy that has none takes this ' +
              'worker out of rotation (a readiness probe with a wrong token is answered 401)',
          },
          ib: { type: 'object' },
          farms: { type: 'object' },
          capabilities: {
            type: 'object',
            description: 'capability → { ok, reason?, since? }',
            properties: Object.fromEntries(CAPABILITIES.map((c) => [c, CAPABILITY_STATUS])),
          },
        },
      },
      errors: {},
      handle: () => {
        const { farms, lease, ...ib } = deps.conn.health();
        const capabilities = deps.conn.capabilities.snapshot();
        const ready = capabilities.link.ok;
        // clientId 0 refused with 326 again and again cannot fall back to a spare: say so explicitly.
        const stuck = lease?.stuck === true ? { code: 'CLIENT_ID_STUCK' } : {};
        return {
          status: ready ? 200 : 503,
          headers: ready ? {} : ({ 'Retry-After': String(deps.conn.retryAfterSeconds()) } as Record<string, string>),
          body: {
            status: deps.conn.state,
            ...stuck,
            clientId: deps.conn.clientId,
            ...(lease === undefined ? {} : { configuredClientId: lease.configuredClientId, lease: lease.lease }),
            ...(deps.proxyTokenRequired === true ? { proxyToken: 'required' } : {}),
            ib: lease === undefined ? ib : { ...ib, lease },
            farms,
            capabilities,
          },
        };
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (ibworker_* and process metrics)',
      tag: 'operations',
      usesIb: false,
      response: { type: 'string' },
      errors: {},
      handle: async () => ({ body: await deps.registries.render() }),
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tag: 'operations',
      usesIb: false,
      response: { type: 'object' },
      errors: {},
      handle: () => ({ body: deps.openapi() }),
    },
  ];
}
