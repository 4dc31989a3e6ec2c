import fc from 'fast-check';

/**
 * Generators of bad requests for the fuzzing part of the fault suite (test/faults-fuzz.test.ts): for each
 * route of the workers' OpenAPI document, near-valid requests with exactly one fault that makes them invalid
 * for certain, so any message they cause at the simulator is a defect, not a valid request in disguise.
 */

/**
 * Routes the proxy answers itself (they take no input worth fuzzing; the proxy's own parsing is fuzzed through every
 * other path).
 */
export const PROXY_LOCAL = new Set(['/health/live', '/health/ready', '/metrics', '/clients']);
const ODD_METHODS = ['PATCH', 'PURGE', 'LOCK', 'UNLOCK', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'SEARCH', 'REPORT'];
const STANDARD_METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ORDER_LEG = () => ({
  contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' },
  order: { action: 'BUY', orderType: 'LMT', totalQuantity: 1, lmtPrice: 10 },
});

/** Query values that make each route as close to valid as possible, so one mutation is the only fault. */
const BASE_QUERY: Record<string, Record<string, string>> = {
  '/contract': { symbol: 'AAPL' },
  '/contract/search': { pattern: 'AA' },
  '/contract/options': { symbol: 'AAPL' },
  '/historical': { symbol: 'AAPL', durationStr: '1 D', barSizeSetting: '1 hour' },
  '/historical/head-timestamp': { symbol: 'AAPL' },
  '/market/data': { symbol: 'AAPL' },
  '/market/depth': { symbol: 'AAPL' },
  '/bars': { symbol: 'AAPL' },
  '/market/scanners': { scanCode: 'TOP_PERC_GAIN' },
  '/fundamental': { symbol: 'AAPL', reportType: 'ReportSnapshot' },
  '/financial': { type: 'groups' },
};

/**
 * Routes that cannot work without their base query (a contract, a pattern, a scan code); `/financial` has a default
 * type.
 */
const NEEDS_BASE = new Set(Object.keys(BASE_QUERY).filter((p) => p !== '/financial'));

export interface Param {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  schema: Record<string, any>;
}
export interface Op {
  method: string;
  path: string;
  params: Param[];
  body: boolean;
  methodsOnPath: string[];
}

/** What a caller might send: always at least one thing wrong. */
export interface BadRequest {
  kind: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: string;
  /** Size of a huge value, spliced in for HUGE in the target or body when sent (keeps counterexamples readable). */
  huge?: number;
}

const HUGE = '__HUGE__';
export const expand = (s: string, n: number | undefined) => (n === undefined ? s : s.replace(HUGE, 'Q'.repeat(n)));

const qs = (q: Record<string, string | string[]>) =>
  Object.entries(q)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`))
    .join('&');
const withQuery = (path: string, q: Record<string, string | string[]>) =>
  Object.keys(q).length === 0 ? path : `${path}?${qs(q)}`;
const fillPath = (path: string, values: Record<string, string> = {}) =>
  path.replace(/\{(\w+)\}/g, (_, n: string) => values[n] ?? '1');
const notNumber = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => Number.isNaN(Number(s)));
const notJson = fc.oneof(
  fc.constantFrom(
    '{',
    '{"contract":',
    'nul',
    '[1,2',
    '{"a":1}}',
    '\u0000',
    "{'a':1}",
    '{"order":{"totalQuantity":NaN}}',
    '{"a":01}',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);

/** Values that break `schema` for certain (undefined when every string would be acceptable). */
function invalidValue(schema: Record<string, any>): fc.Arbitrary<string> | undefined {
  switch (schema.type) {
    case 'integer': {
      const outOfRange = [
        ...(schema.minimum === undefined ? [] : [String(schema.minimum - 1)]),
        ...(schema.maximum === undefined ? [] : [String(schema.maximum + 1), '99999999999999999999']),
      ];
      return fc.oneof(fc.constantFrom('1.5', 'NaN', '1e400', '-0.0', '0x10', ...outOfRange), notNumber);
    }
    case 'number': {
      const low = schema.exclusiveMinimum ?? schema.minimum;
      const belowRange =
        low === undefined
          ? []
          : [String(low - 1), ...(schema.exclusiveMinimum !== undefined ? [String(schema.exclusiveMinimum)] : [])];
      const aboveRange = schema.maximum === undefined ? [] : [String(schema.maximum + 1)];
      return fc.oneof(fc.constantFrom('NaN', 'Infinity', '1e400', ...belowRange, ...aboveRange), notNumber);
    }
    case 'boolean':
      return fc.constantFrom('maybe', '2', 'TRUE', 'yes', 'null', '');
    case 'string': {
      const options: fc.Arbitrary<string>[] = [];
      if (Array.isArray(schema.enum)) {
        const allowed = new Set((schema.enum as string[]).map((e) => e.toLowerCase()));
        options.push(fc.string({ maxLength: 16 }).filter((s) => !allowed.has(s.toLowerCase())));
      }
      if (typeof schema.maxLength === 'number')
        options.push(
          fc.integer({ min: schema.maxLength + 1, max: schema.maxLength + 3_000 }).map((n) => 'A'.repeat(n)),
        );
      if (typeof schema.minLength === 'number' && schema.minLength > 0) options.push(fc.constant(''));
      if (typeof schema.pattern === 'string') {
        const re = new RegExp(schema.pattern, 'u');
        options.push(fc.string({ maxLength: 24 }).filter((s) => !re.test(s)));
      }
      return options.length === 0 ? undefined : fc.oneof(...options);
    }
    default:
      return undefined;
  }
}

/** One field of an order leg set to a value no order may have. */
const orderMutation = fc.oneof(
  fc.record({
    k: fc.constant('order.totalQuantity'),
    v: fc.oneof(
      fc.double({ max: 0, noNaN: true }),
      fc.constantFrom('NaN', 'Infinity', '-1', '1e400'),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
    ),
  }),
  fc.record({
    k: fc.constant('order.orderType'),
    v: fc.oneof(
      fc.string().map((s) => `ZZ${s}`),
      fc.integer(),
      fc.constant(null),
    ),
  }),
  fc.record({
    k: fc.constant('order.action'),
    v: fc.oneof(
      fc.string().map((s) => `ZZ${s}`),
      fc.integer(),
    ),
  }),
  fc.record({
    k: fc.constant('order.lmtPrice'),
    v: fc.oneof(fc.constant(undefined), fc.string(), fc.constant(null), fc.constantFrom('NaN')),
  }),
  fc.record({
    k: fc.constantFrom('contract.symbol', 'contract.secType', 'contract.exchange'),
    v: fc.constant(undefined),
  }),
  fc.record({
    k: fc.constant('contract.symbol'),
    v: fc.oneof(fc.constant('S'.repeat(5_000)), fc.constant(''), fc.integer()),
  }),
  fc.record({ k: fc.constant('contract.secType'), v: fc.string({ maxLength: 4 }).map((s) => `ZZ${s}`) }),
  fc.record({ k: fc.constantFrom('order.zzBogus', 'contract.zzBogus'), v: fc.jsonValue() }),
  fc.record({
    k: fc.constantFrom('contract', 'order'),
    v: fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.integer(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.constant(null),
    ),
  }),
);

function mutateLeg(m: { k: string; v: unknown }, leg: Record<string, any> = ORDER_LEG()): unknown {
  const [a, b] = m.k.split('.') as [string, string | undefined];
  if (b === undefined) leg[a] = m.v;
  else leg[a][b] = m.v;
  return leg;
}

/** Every kind of bad request that applies to `op`. */
export function badRequestsFor(op: Op): fc.Arbitrary<BadRequest> {
  const json = { 'content-type': 'application/json' };
  const baseQuery = BASE_QUERY[op.path] ?? {};
  const target = (q: Record<string, string | string[]> = baseQuery, pathValues?: Record<string, string>) =>
    withQuery(fillPath(op.path, pathValues), q);
  const validBody =
    op.path === '/order' || op.path === '/order/whatif'
      ? JSON.stringify(ORDER_LEG())
      : op.path === '/order/{orderId}'
        ? '{"order":{"lmtPrice":11}}'
        : undefined;
  const req = (kind: string, r: Partial<BadRequest>): BadRequest => ({
    kind,
    method: op.method,
    target: target(),
    headers: op.body && validBody !== undefined ? json : {},
    ...(op.body && validBody !== undefined ? { body: validBody } : {}),
    ...r,
  });
  const arbs: fc.Arbitrary<BadRequest>[] = [];

  for (const p of op.params) {
    const bad = invalidValue(p.schema);
    if (bad === undefined) continue;
    if (p.in === 'query')
      arbs.push(bad.map((v) => req(`query:${p.name}`, { target: target({ ...baseQuery, [p.name]: v }) })));
    else
      arbs.push(
        bad
          .filter((v) => v !== '' && !v.includes('/'))
          .map((v) => req(`path:${p.name}`, { target: target(baseQuery, { [p.name]: encodeURIComponent(v) }) })),
      );
  }
  const queryParams = op.params.filter((p) => p.in === 'query');
  if (queryParams.length > 0) {
    // A parameter given twice arrives as a list where one value is expected.
    arbs.push(
      fc.constantFrom(...queryParams).map((p) =>
        req('query:repeated', {
          target: target({ ...baseQuery, [p.name]: [baseQuery[p.name] ?? '1', baseQuery[p.name] ?? '2'] }),
        }),
      ),
    );
  }
  arbs.push(
    fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((s) => !queryParams.some((p) => p.name === `zz${s}`))
      .map((s) => req('query:unknown', { target: target({ ...baseQuery, [`zz${s}`]: '1' }) })),
  );
  if (NEEDS_BASE.has(op.path)) arbs.push(fc.constant(req('query:missing', { target: target({}) })));
  arbs.push(
    fc
      .integer({ min: 17_000, max: 40_000 })
      .map((n) => req('query:huge', { target: target({ ...baseQuery, symbol: HUGE }), huge: n })),
  );

  const unusedMethods = [...ODD_METHODS, ...STANDARD_METHODS.filter((m) => !op.methodsOnPath.includes(m))];
  arbs.push(fc.constantFrom(...unusedMethods).map((method) => req('method', { method, headers: {}, body: undefined })));

  if (op.body) {
    arbs.push(notJson.map((body) => req('body:malformed-json', { headers: json, body })));
    arbs.push(
      fc
        .oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.string(), fc.integer(), fc.constant(null), fc.boolean())
        .filter(
          (v) =>
            !(
              op.path === '/order' &&
              Array.isArray(v) &&
              v.length > 0 &&
              v.every((x) => x !== null && typeof x === 'object' && 'contract' in x)
            ),
        )
        .map((v) => req('body:wrong-type', { headers: json, body: JSON.stringify(v) })),
    );
    arbs.push(
      fc
        .constantFrom(70_000, 1_200_000)
        .map((n) => req('body:huge', { headers: json, body: JSON.stringify({ ...ORDER_LEG(), zz: HUGE }), huge: n })),
    );
    arbs.push(fc.constant(req('body:text-plain', { headers: { 'content-type': 'text/plain' }, body: 'BUY 100 AAPL' })));
    if (op.path === '/order' || op.path === '/order/whatif') {
      arbs.push(
        orderMutation.map((m) => req('body:order-field', { headers: json, body: JSON.stringify(mutateLeg(m)) })),
      );
      arbs.push(
        orderMutation.map((m) =>
          req('body:bracket-leg', { headers: json, body: JSON.stringify([ORDER_LEG(), mutateLeg(m)]) }),
        ),
      );
    }
    if (op.path === '/order/{orderId}' && op.method === 'PUT') {
      arbs.push(
        orderMutation
          .filter((m) => m.k.startsWith('order.'))
          .map((m) =>
            req('body:modify-field', {
              headers: json,
              body: JSON.stringify({ order: (mutateLeg(m) as { order: unknown }).order }),
            }),
          ),
      );
    }
    if (op.path === '/order' && op.method === 'DELETE') {
      arbs.push(
        fc
          .oneof(fc.string(), fc.constant(-1), fc.constant(1.5), fc.constant(null), fc.constant(2 ** 40))
          .map((v) => req('body:cancel-id', { headers: json, body: JSON.stringify({ orderId: v }) })),
      );
    }
  }
  return fc.oneof(...arbs);
}

/** Request targets no route can take: broken percent-encoding in the path, NUL bytes, absolute-form. */
export const rawTargets = fc
  .constantFrom(
    '/%',
    '/order/%zz',
    '/order/1%00',
    '//order//abc',
    '/account/../order/abc',
    '/historical?symbol=AAPL&durationStr=%',
    'http://example.com/order',
    '/contract/%E0%A4%A',
    '/market/data%FF',
  )
  .map((target): BadRequest => ({ kind: 'raw-target', method: 'GET', target, headers: {} }));

/** Symbols for requests that must not be identical or bunch on one contract (IB's 15 s and 2 s rules). */
export const SYMBOL_POOL = [
  'AAPL',
  'MSFT',
  'SPY',
  'TSLA',
  'IBM',
  'AMZN',
  'QQQ',
  'NVDA',
  'META',
  'GOOG',
  'NFLX',
  'ORCL',
];

/** Query values whose percent-encoding is broken: undecodable, so no caller can have meant them as a symbol. */
export const BROKEN_QUERY_TARGETS = [
  '/contract?symbol=%E0%A4%A',
  '/market/data?symbol=%FF%FE',
  '/contract/search?pattern=%C3',
  '/historical/head-timestamp?symbol=%',
];

/** The operations of an OpenAPI document, without the routes the proxy answers itself. */
export function opsFromOpenApi(api: { paths: Record<string, Record<string, any>> }): Op[] {
  const ops: Op[] = [];
  for (const [path, methods] of Object.entries(api.paths)) {
    if (PROXY_LOCAL.has(path) || path === '/openapi.json') continue;
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Array<Record<string, any>>)
        .filter((p) => p.in === 'query' || p.in === 'path')
        .map((p): Param => ({ name: p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} }));
      ops.push({
        method: method.toUpperCase(),
        path,
        params,
        body: op.requestBody !== undefined,
        methodsOnPath: Object.keys(methods).map((m) => m.toUpperCase()),
      });
    }
  }
  return ops;
}
