import { IDEMPOTENCY_KEY_HEADER, ROUTES, WORKER_OPENAPI, type Capability, type RouteEntry } from '@ibrest/contract';
import { capabilityUnavailableCode } from './errors.js';
import { HISTORICAL_RULES } from './pacing/historical.js';
import { PROXY_VERSION } from './version.js';

/**
 * The proxy's OpenAPI 3.1 document, built once at start from data, never by asking a worker: the workers'
 * paths (generated from the worker's route table, kept in @ibrest/contract) for every route the proxy
 * forwards, with what the proxy adds from the route manifest — the bearer scheme and the scope each operation
 * needs, the refusals the proxy itself answers (401/403/405/429/502/503/504 with its codes), Idempotency-Key
 * and Idempotent-Replayed on order writes — plus the proxy's own routes (health, metrics, /clients, this document).
 */
export function buildProxyOpenApi(o: { metricsAuth: 'none' | 'key' }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const byOp = new Map(ROUTES.filter((r) => r.owner === 'worker').map((r) => [r.id, r]));
  for (const [path, ops] of Object.entries(WORKER_OPENAPI.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const entry = byOp.get(op.operationId as string);
      if (entry === undefined || entry.target === 'local') continue;
      (paths[path] ??= {})[method] = proxiedOperation(op, entry);
    }
  }
  for (const r of ROUTES.filter((x) => x.owner === 'proxy')) {
    const scope = r.id === 'proxyMetrics' && o.metricsAuth === 'none' ? null : r.scope;
    (paths[r.path] ??= {})[r.method.toLowerCase()] = localOperation(r, scope);
  }
  const components = WORKER_OPENAPI.components;
  return {
    openapi: '3.1.0',
    info: {
      title: 'ibrest',
      version: PROXY_VERSION,
      description:
        'A synchronous REST API in front of Interactive Brokers TWS / IB Gateway: one entry point (this proxy) ' +
        'in front of a pool of workers, each one IB connection. Orders and executions are served by the order ' +
        'worker (clientId 0, ' +
        "TWS's Master API client). A method a path does not declare answers 405 with `Allow` " +
        '(`#/components/responses/MethodNotAllowed`); an unknown path 404 `ROUTE_NOT_FOUND`.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      ...components,
      schemas: { ...components.schemas, Clients: CLIENTS_SCHEMA },
      parameters: {
        ...components.parameters,
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          schema: { type: 'string', minLength: 1, maxLength: 255 },
          description:
            'Names this order write: a retry with the same key answers the first outcome instead of acting twice',
        },
      },
      headers: {
        ...components.headers,
        IdempotentReplayed: {
          schema: { type: 'string', enum: ['true'] },
          description:
            'Present when the answer is the stored outcome of an earlier request with the same Idempotency-Key',
        },
        Allow: { schema: { type: 'string' }, description: 'The methods the path allows' },
      },
      responses: {
        MethodNotAllowed: {
          description: 'The path exists, not with this method. Codes: METHOD_NOT_ALLOWED',
          headers: { Allow: { $ref: '#/components/headers/Allow' } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key: `Authorization: Bearer <key>`; each key has scopes read / trade / admin',
        },
      },
    },
  };
}

/** Error answers the proxy adds to a forwarded operation, by status. */
function proxyErrors(entry: RouteEntry): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  const add = (status: number, ...codes: string[]): void => void (out[status] ??= []).push(...codes);
  if (entry.scope !== null) {
    add(401, 'UNAUTHORIZED');
    add(403, 'INSUFFICIENT_SCOPE', 'ADDRESS_NOT_ALLOWED');
  }
  add(400, 'INVALID_REQUEST');
  add(408, 'BODY_TIMEOUT');
  add(413, 'PAYLOAD_TOO_LARGE');
  const stream = entry.sticky === 'subscription' || entry.id === 'listOrderEvents';
  if (stream) add(429, 'STREAM_LIMIT');
  if (entry.pacing !== undefined) add(429, 'HISTORICAL_PACING');
  if (entry.budget !== undefined)
    add(429, entry.budget.class === 'lines' ? 'MARKET_DATA_LINES_EXHAUSTED' : 'MARKET_DEPTH_BOOKS_EXHAUSTED');
  add(502, 'UPSTREAM_ERROR');
  add(503, ...(entry.target === 'order' ? ['ORDER_WORKER_UNAVAILABLE'] : ['NO_HEALTHY_WORKER', 'WORKER_UNAVAILABLE']));
  // No worker has what the route needs now (every need but the mirror stands on the IB link).
  const needs = new Set<Capability>(entry.needs.some((n) => n !== 'mirror') ? ['link', ...entry.needs] : entry.needs);
  add(503, ...[...needs].map((n) => capabilityUnavailableCode(n)), 'UPSTREAM_BUSY', 'BODY_BUDGET_EXHAUSTED');
  if (stream) add(503, 'STREAMS_EXHAUSTED');
  if (entry.maintenance === 'blocked') add(503, 'IB_MAINTENANCE_WINDOW');
  add(504, 'UPSTREAM_TIMEOUT');
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request (nothing was sent to IB)',
  408: 'The request body did not arrive in time',
  401: 'API key missing or not valid',
  403: 'The key lacks the scope, or the address is not allowed',
  413: 'Request body too large',
  429: 'Pacing or budget exhausted; retry after Retry-After seconds',
  502: 'The worker failed while answering',
  503: 'Not available now; retry after Retry-After seconds',
  504: 'Deadline exceeded',
};

function errorResponse(status: number, codes: readonly string[]): Record<string, unknown> {
  return {
    description: `${STATUS_TEXT[status] ?? 'Error'}. Codes: ${codes.join(', ')}`,
    ...(status === 429 || status === 503
      ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } }
      : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

function proxiedOperation(op: Record<string, any>, entry: RouteEntry): Record<string, unknown> {
  const responses: Record<string, any> = structuredClone(op.responses);
  for (const [status, codes] of Object.entries(proxyErrors(entry))) {
    const existing = responses[status];
    if (existing === undefined) {
      responses[status] = errorResponse(Number(status), codes);
      continue;
    }
    const have = /Codes: (.*)$/.exec(existing.description as string)?.[1]?.split(', ') ?? [];
    const merged = [...new Set([...have, ...codes])];
    const text = (existing.description as string).replace(/\. Codes: .*$/, '');
    existing.description = `${text}. Codes: ${merged.join(', ')}`;
    if ((status === '429' || status === '503') && existing.headers === undefined) {
      existing.headers = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
    }
  }
  const parameters = [...(op.parameters as unknown[])];
  if (entry.idempotent === true) {
    parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
    for (const [status, r] of Object.entries(responses)) {
      if (!status.startsWith('2')) continue;
      r.headers = { ...r.headers, 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } };
    }
  }
  const notes = [
    entry.target === 'order' ? 'Served by the order worker (clientId 0).' : '',
    entry.target === 'sticky' && entry.sticky === 'request'
      ? 'Identical requests are pinned to one worker and share its answer.'
      : '',
    entry.pacing === 'historical'
      ? "Bars of 30 s or less follow IB's historical pacing, applied for the whole pool."
      : '',
    entry.pacing !== undefined
      ? `At most ${HISTORICAL_RULES.simultaneousLimit} historical requests are open at IB at once, pool-wide.`
      : '',
    entry.idempotent === true ? `Accepts \`${IDEMPOTENCY_KEY_HEADER}\`.` : '',
  ].filter((n) => n !== '');
  return {
    ...op,
    ...(notes.length === 0 ? {} : { description: [op.description, ...notes].filter((x) => x !== undefined).join(' ') }),
    parameters,
    responses,
    security: entry.scope === null ? [] : [{ bearer: [] }],
    'x-ibrest-scope': entry.scope,
  };
}

const CLIENTS_SCHEMA = {
  type: 'object',
  required: ['ready', 'clients', 'budgets', 'maintenance'],
  properties: {
    ready: { type: 'boolean' },
    clients: {
      type: 'array',
      items: {
        type: 'object',
        required: ['clientId', 'name', 'url', 'up', 'state', 'role'],
        properties: {
          clientId: { type: 'integer' },
          name: { type: 'string' },
          url: { type: 'string' },
          up: { type: 'boolean' },
          state: { type: 'string' },
          inFlight: { type: 'integer' },
          role: { type: 'string', enum: ['orders', 'reads'] },
        },
      },
    },
    budgets: { type: 'object' },
    maintenance: { type: 'object' },
  },
};

const LOCAL_DOC: Record<
  string,
  { summary: string; schema: Record<string, unknown>; type?: string; errors?: Record<number, string[]> }
> = {
  proxyLive: {
    summary: 'The proxy process is running',
    schema: { type: 'object', properties: { status: { type: 'string' } } },
  },
  proxyReady: {
    summary: 'Ready when the order worker and at least one other worker are up',
    schema: { type: 'object', properties: { status: { type: 'string' } } },
    errors: { 503: ['PROXY_NOT_READY'] },
  },
  proxyMetrics: {
    summary: 'Prometheus metrics of the proxy (ibproxy_*)',
    schema: { type: 'string' },
    type: 'text/plain',
  },
  proxyOpenApi: { summary: 'This OpenAPI 3.1 document', schema: { type: 'object' } },
  listClients: {
    summary: 'The pool: every worker, its state and role, budgets, maintenance',
    schema: { $ref: '#/components/schemas/Clients' },
  },
};

function localOperation(r: RouteEntry, scope: RouteEntry['scope']): Record<string, unknown> {
  const d = LOCAL_DOC[r.id]!;
  const responses: Record<string, unknown> = {
    200: {
      description: 'Success',
      headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
      content: { [d.type ?? 'application/json']: { schema: d.schema } },
    },
  };
  for (const [status, codes] of Object.entries(d.errors ?? {}))
    responses[status] = errorResponse(Number(status), codes);
  if (scope !== null) {
    responses[401] = errorResponse(401, ['UNAUTHORIZED']);
    responses[403] = errorResponse(403, ['INSUFFICIENT_SCOPE', 'ADDRESS_NOT_ALLOWED']);
  }
  return {
    operationId: r.id,
    summary: d.summary,
    tags: ['proxy'],
    parameters: [{ $ref: '#/components/parameters/RequestId' }],
    responses,
    security: scope === null ? [] : [{ bearer: [] }],
  };
}
