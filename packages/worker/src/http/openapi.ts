import { MIRROR_READS } from './mirror-reads.js';
import { OPEN_PATHS } from './proxy-token.js';
import type { RouteDef } from './route.js';
import type { Schema } from './schema.js';

const ERROR_SCHEMA: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable error code' },
        message: { type: 'string' },
        details: { type: 'object' },
        ibCode: { type: 'integer', description: "IB's own error code, when the failure came from IB" },
      },
    },
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request (nothing was sent to IB), or IB refused its parameters (ibCode)',
  401: 'The request did not come through the proxy (x-ibrest-proxy-token)',
  403: "Refused: the account lacks a permission or subscription (ibCode), or the key's order policy",
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  422: 'Refused by IB',
  429: 'Pacing budget exhausted; retry after Retry-After seconds',
  500: "Internal error (ours, never the caller's or IB's)",
  503: 'IB connection not ready, or IB in trouble; retry after Retry-After seconds',
  504: 'Deadline exceeded (the IB-side request was cancelled where possible)',
};

/** Codes every route of a kind can answer, added to each route's own list. */
export function routeErrors(route: RouteDef): Record<number, string[]> {
  const out: Record<number, Set<string>> = {};
  const add = (status: number, code: string) => (out[status] ??= new Set()).add(code);
  for (const [status, codes] of Object.entries(route.errors)) for (const c of codes ?? []) add(Number(status), c);
  if (route.query !== undefined || route.params !== undefined || route.body !== undefined || route.usesIb)
    add(400, 'INVALID_REQUEST');
  if (route.body !== undefined) add(413, 'PAYLOAD_TOO_LARGE');
  if (route.usesIb) {
    // What IB may answer any request it is sent (the classification in ib/error-codes.ts).
    add(400, 'IB_INVALID_REQUEST');
    add(403, 'IB_NO_PERMISSION');
    add(404, 'NO_DATA');
    add(404, 'CONTRACT_NOT_FOUND');
    add(429, 'IB_PACING_VIOLATION');
    add(500, 'IB_PROTOCOL_ERROR');
    add(503, 'IB_NOT_READY');
    add(503, 'IB_CONNECTION_LOST');
    add(503, 'IB_UNAVAILABLE');
  }
  if (MIRROR_READS.has(route.operationId)) add(503, 'MIRROR_NOT_SYNCED');
  if (!OPEN_PATHS.has(route.path)) add(401, 'PROXY_TOKEN_REQUIRED');
  add(500, 'INTERNAL_ERROR');
  return Object.fromEntries(Object.entries(out).map(([s, set]) => [s, [...set]]));
}

/** OpenAPI 3.1 document generated from the same route table the app registers. */
export function buildOpenApi(routes: RouteDef[], info: { version: string; clientId: number }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(r.params?.properties ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema: strip(schema), description: schema.description });
    }
    for (const [name, schema] of Object.entries(r.query?.properties ?? {})) {
      parameters.push({
        name,
        in: 'query',
        required: r.query?.required?.includes(name) ?? false,
        schema: strip(schema),
        description: schema.description,
      });
    }
    parameters.push({ $ref: '#/components/parameters/RequestId' });
    const responses: Record<string, unknown> = {
      [String(r.successStatus ?? 200)]: {
        description: 'Success',
        headers: {
          'X-Request-Id': { $ref: '#/components/headers/RequestId' },
          'X-IB-Client-Id': { $ref: '#/components/headers/ClientId' },
        },
        content: {
          [r.path === '/metrics' ? 'text/plain' : 'application/json']: { schema: r.response },
          ...Object.fromEntries((r.produces ?? []).map((type) => [type, { schema: { type: 'string' } }])),
        },
      },
    };
    for (const [status, codes] of Object.entries(routeErrors(r))) {
      const s = Number(status);
      responses[status] = {
        description: `${STATUS_TEXT[s] ?? 'Error'}. Codes: ${codes.join(', ')}`,
        ...(s === 429 || s === 503 ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } } : {}),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      parameters,
      responses,
    };
    if (r.description !== undefined) op.description = r.description;
    if (r.body !== undefined)
      op.requestBody = { required: r.bodyOptional !== true, content: { 'application/json': { schema: r.body } } };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ibrest worker',
      version: info.version,
      description: `One IB connection (clientId ${info.clientId}) served as a synchronous REST API.`,
    },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      parameters: {
        RequestId: {
          name: 'X-Request-Id',
          in: 'header',
          required: false,
          schema: { type: 'string', maxLength: 128 },
          description: 'Echoed; generated when absent',
        },
      },
      headers: {
        RequestId: { schema: { type: 'string' }, description: 'The request id (echoed or generated)' },
        ClientId: { schema: { type: 'integer' }, description: 'clientId of the worker that answered' },
        RetryAfter: { schema: { type: 'integer', minimum: 1 }, description: 'Seconds to wait before retrying' },
      },
    },
  };
}

/** Parameter schemas without the description (it sits on the parameter itself). */
function strip(schema: Schema): Schema {
  const { description: _d, ...rest } = schema;
  return rest;
}
