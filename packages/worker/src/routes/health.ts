import type { RouteDef } from '../http/route.js';
import type { RouteDeps } from './deps.js';

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
      summary: 'Readiness: 200 when the IB connection is ready; else 503 with Retry-After (socket, IB server link, farms, 326)',
      tag: 'operations',
      usesIb: false,
      response: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['ready', 'degraded', 'connected', 'connecting', 'disconnected'] },
          code: { type: 'string', enum: ['CLIENT_ID_STUCK'], description: 'Present when the clientId stays refused (326) and cannot fall back (clientId 0)' },
          clientId: { type: 'integer', description: 'The clientId in use (a spare after a fallback)' },
          configuredClientId: { type: 'integer' },
          lease: { type: 'string', enum: ['configured', 'spare'] },
          ib: { type: 'object' },
          farms: { type: 'object' },
        },
      },
      errors: {},
      handle: () => {
        const { farms, lease, ...ib } = deps.conn.health();
        const ready = deps.conn.state === 'ready';
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
            ib: lease === undefined ? ib : { ...ib, lease },
            farms,
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
