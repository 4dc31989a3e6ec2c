import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { metricSum, NO_WINDOWS, poolFullyUp, printFigures, rawRequest, sleep, Tally, type RawRequest } from './helpers/faults-kit.js';
import { startStack, type Stack } from './helpers/stack.js';

const WORKERS = 3;
const RUNS = 1_200;
/** Routes the proxy answers itself (they take no input worth fuzzing; the proxy's own parsing is fuzzed through every other path). */
const PROXY_LOCAL = new Set(['/health/live', '/health/ready', '/metrics', '/clients']);
const ODD_METHODS = ['PATCH', 'PURGE', 'LOCK', 'UNLOCK', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'SEARCH', 'REPORT'];
const STANDARD_METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ORDER_LEG = () => ({ contract: { symbol: 'AAPL', secType: 'STK', exchange: 'SMART', currency: 'USD' }, order: { action: 'BUY', orderType: 'LMT', totalQuantity: 1, lmtPrice: 10 } });

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

/** Routes that cannot work without their base query (a contract, a pattern, a scan code); `/financial` has a default type. */
const NEEDS_BASE = new Set(Object.keys(BASE_QUERY).filter((p) => p !== '/financial'));

interface Param { name: string; in: 'query' | 'path'; required: boolean; schema: Record<string, any> }
interface Op { method: string; path: string; params: Param[]; body: boolean; methodsOnPath: string[] }

/** What a caller might send: always at least one thing wrong. */
interface BadRequest {
  kind: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: string;
  /** Size of a huge value, spliced in for HUGE in the target or body when sent (keeps counterexamples readable). */
  huge?: number;
}

const HUGE = '__HUGE__';
const expand = (s: string, n: number | undefined) => (n === undefined ? s : s.replace(HUGE, 'Q'.repeat(n)));

const qs = (q: Record<string, string | string[]>) =>
  Object.entries(q).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`)).join('&');
const withQuery = (path: string, q: Record<string, string | string[]>) => (Object.keys(q).length === 0 ? path : `${path}?${qs(q)}`);
const fillPath = (path: string, values: Record<string, string> = {}) => path.replace(/\{(\w+)\}/g, (_, n: string) => values[n] ?? '1');
const notNumber = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => Number.isNaN(Number(s)));
const notJson = fc.oneof(
  fc.constantFrom('{', '{"contract":', 'nul', '[1,2', '{"a":1}}', '\u0000', "{'a':1}", '{"order":{"totalQuantity":NaN}}', '{"a":01}'),
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
      const belowRange = low === undefined ? [] : [String(low - 1), ...(schema.exclusiveMinimum !== undefined ? [String(schema.exclusiveMinimum)] : [])];
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
      if (typeof schema.maxLength === 'number') options.push(fc.integer({ min: schema.maxLength + 1, max: schema.maxLength + 3_000 }).map((n) => 'A'.repeat(n)));
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
  fc.record({ k: fc.constant('order.totalQuantity'), v: fc.oneof(fc.double({ max: 0, noNaN: true }), fc.constantFrom('NaN', 'Infinity', '-1', '1e400'), fc.string(), fc.boolean(), fc.constant(null)) }),
  fc.record({ k: fc.constant('order.orderType'), v: fc.oneof(fc.string().map((s) => `ZZ${s}`), fc.integer(), fc.constant(null)) }),
  fc.record({ k: fc.constant('order.action'), v: fc.oneof(fc.string().map((s) => `ZZ${s}`), fc.integer()) }),
  fc.record({ k: fc.constant('order.lmtPrice'), v: fc.oneof(fc.constant(undefined), fc.string(), fc.constant(null), fc.constantFrom('NaN')) }),
  fc.record({ k: fc.constantFrom('contract.symbol', 'contract.secType', 'contract.exchange'), v: fc.constant(undefined) }),
  fc.record({ k: fc.constant('contract.symbol'), v: fc.oneof(fc.constant('S'.repeat(5_000)), fc.constant(''), fc.integer()) }),
  fc.record({ k: fc.constant('contract.secType'), v: fc.string({ maxLength: 4 }).map((s) => `ZZ${s}`) }),
  fc.record({ k: fc.constantFrom('order.zzBogus', 'contract.zzBogus'), v: fc.jsonValue() }),
  fc.record({ k: fc.constantFrom('contract', 'order'), v: fc.oneof(fc.constant(undefined), fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant(null)) }),
);

function mutateLeg(m: { k: string; v: unknown }, leg: Record<string, any> = ORDER_LEG()): unknown {
  const [a, b] = m.k.split('.') as [string, string | undefined];
  if (b === undefined) leg[a] = m.v;
  else leg[a][b] = m.v;
  return leg;
}

/** Every kind of bad request that applies to `op`. */
function badRequestsFor(op: Op): fc.Arbitrary<BadRequest> {
  const json = { 'content-type': 'application/json' };
  const baseQuery = BASE_QUERY[op.path] ?? {};
  const target = (q: Record<string, string | string[]> = baseQuery, pathValues?: Record<string, string>) => withQuery(fillPath(op.path, pathValues), q);
  const validBody = op.path === '/order' || op.path === '/order/whatif' ? JSON.stringify(ORDER_LEG()) : op.path === '/order/{orderId}' ? '{"order":{"lmtPrice":11}}' : undefined;
  const req = (kind: string, r: Partial<BadRequest>): BadRequest => ({
    kind, method: op.method, target: target(), headers: op.body && validBody !== undefined ? json : {}, ...(op.body && validBody !== undefined ? { body: validBody } : {}), ...r,
  });
  const arbs: fc.Arbitrary<BadRequest>[] = [];

  for (const p of op.params) {
    const bad = invalidValue(p.schema);
    if (bad === undefined) continue;
    if (p.in === 'query') arbs.push(bad.map((v) => req(`query:${p.name}`, { target: target({ ...baseQuery, [p.name]: v }) })));
    else arbs.push(bad.filter((v) => v !== '' && !v.includes('/')).map((v) => req(`path:${p.name}`, { target: target(baseQuery, { [p.name]: encodeURIComponent(v) }) })));
  }
  const queryParams = op.params.filter((p) => p.in === 'query');
  if (queryParams.length > 0) {
    // A parameter given twice arrives as a list where one value is expected.
    arbs.push(fc.constantFrom(...queryParams).map((p) => req('query:repeated', { target: target({ ...baseQuery, [p.name]: [baseQuery[p.name] ?? '1', baseQuery[p.name] ?? '2'] }) })));
  }
  arbs.push(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !queryParams.some((p) => p.name === `zz${s}`)).map((s) => req('query:unknown', { target: target({ ...baseQuery, [`zz${s}`]: '1' }) })));
  if (NEEDS_BASE.has(op.path)) arbs.push(fc.constant(req('query:missing', { target: target({}) })));
  arbs.push(fc.integer({ min: 17_000, max: 40_000 }).map((n) => req('query:huge', { target: target({ ...baseQuery, symbol: HUGE }), huge: n })));

  const unusedMethods = [...ODD_METHODS, ...STANDARD_METHODS.filter((m) => !op.methodsOnPath.includes(m))];
  arbs.push(fc.constantFrom(...unusedMethods).map((method) => req('method', { method, headers: {}, body: undefined })));

  if (op.body) {
    arbs.push(notJson.map((body) => req('body:malformed-json', { headers: json, body })));
    arbs.push(fc.oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.string(), fc.integer(), fc.constant(null), fc.boolean())
      .filter((v) => !(op.path === '/order' && Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && 'contract' in x)))
      .map((v) => req('body:wrong-type', { headers: json, body: JSON.stringify(v) })));
    arbs.push(fc.constantFrom(70_000, 1_200_000).map((n) => req('body:huge', { headers: json, body: JSON.stringify({ ...ORDER_LEG(), zz: HUGE }), huge: n })));
    arbs.push(fc.constant(req('body:text-plain', { headers: { 'content-type': 'text/plain' }, body: 'BUY 100 AAPL' })));
    if (op.path === '/order' || op.path === '/order/whatif') {
      arbs.push(orderMutation.map((m) => req('body:order-field', { headers: json, body: JSON.stringify(mutateLeg(m)) })));
      arbs.push(orderMutation.map((m) => req('body:bracket-leg', { headers: json, body: JSON.stringify([ORDER_LEG(), mutateLeg(m)]) })));
    }
    if (op.path === '/order/{orderId}' && op.method === 'PUT') {
      arbs.push(orderMutation.filter((m) => m.k.startsWith('order.')).map((m) => req('body:modify-field', { headers: json, body: JSON.stringify({ order: (mutateLeg(m) as { order: unknown }).order }) })));
    }
    if (op.path === '/order' && op.method === 'DELETE') {
      arbs.push(fc.oneof(fc.string(), fc.constant(-1), fc.constant(1.5), fc.constant(null), fc.constant(2 ** 40)).map((v) => req('body:cancel-id', { headers: json, body: JSON.stringify({ orderId: v }) })));
    }
  }
  return fc.oneof(...arbs);
}

/** Request targets no route can take: broken percent-encoding in the path, NUL bytes, absolute-form. */
const rawTargets = fc.constantFrom(
  '/%', '/order/%zz', '/order/1%00', '//order//abc', '/account/../order/abc', '/historical?symbol=AAPL&durationStr=%',
  'http://example.com/order', '/contract/%E0%A4%A', '/market/data%FF',
).map((target): BadRequest => ({ kind: 'raw-target', method: 'GET', target, headers: {} }));

/** Query values whose percent-encoding is broken: undecodable, so no caller can have meant them as a symbol. */
/** Symbols for requests that must not be identical or bunch on one contract (IB's 15 s and 2 s rules). */
const SYMBOL_POOL = ['AAPL', 'MSFT', 'SPY', 'TSLA', 'IBM', 'AMZN', 'QQQ', 'NVDA', 'META', 'GOOG', 'NFLX', 'ORCL'];

const BROKEN_QUERY_TARGETS = ['/contract?symbol=%E0%A4%A', '/market/data?symbol=%FF%FE', '/contract/search?pattern=%C3', '/historical/head-timestamp?symbol=%'];

/**
 * The fault suite, part 4: property-based fuzzing (fast-check) of every route behind the proxy with
 * ≥ 1,000 generated bad requests — wrong types, negative/NaN quantities, unknown enums, missing fields,
 * huge strings, bad JSON, bad query values, odd methods. Only 4xx may come back, no process may crash,
 * and not one message may reach the simulator because of them.
 */
describe('faults – fuzzing every route through the proxy', () => {
  let stack: Stack;
  let ops: Op[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  before(async () => {
    stack = await startStack({ workers: WORKERS, workerEnv: { ...NO_WINDOWS }, proxyEnv: NO_WINDOWS });
    const api = (await rawRequest(stack.proxyUrl, { path: '/openapi.json' })).json as { paths: Record<string, Record<string, any>> };
    for (const [path, methods] of Object.entries(api.paths)) {
      if (PROXY_LOCAL.has(path) || path === '/openapi.json') continue;
      for (const [method, op] of Object.entries(methods)) {
        const params = ((op.parameters ?? []) as Array<Record<string, any>>)
          .filter((p) => p.in === 'query' || p.in === 'path')
          .map((p): Param => ({ name: p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} }));
        ops.push({ method: method.toUpperCase(), path, params, body: op.requestBody !== undefined, methodsOnPath: Object.keys(methods).map((m) => m.toUpperCase()) });
      }
    }
  });
  after(async () => {
    agent.destroy();
    await stack?.stop();
  });

  test(`${RUNS} generated bad requests → only 4xx, no crash, zero messages reach the simulator`, async () => {
    assert.ok(ops.length >= 25, `the OpenAPI document lists the worker's routes (${ops.length})`);
    const { sim } = stack;
    const watch = () => {
      const seen: Record<string, number> = {};
      const on = (m: { name: string }) => {
        seen[m.name] = (seen[m.name] ?? 0) + 1;
      };
      sim.control.events.on('message', on);
      return { seen, count: () => Object.values(seen).reduce((a, b) => a + b, 0), stop: () => sim.control.events.off('message', on) };
    };
    // Background traffic: whatever the workers send on their own while nobody calls them, over a quiet second.
    const quiet = watch();
    await sleep(1_000);
    quiet.stop();

    // 5xx answers per worker, route and code (readiness probes answered 503 while the workers started).
    const worker5xx = async () => {
      const out: Record<string, number> = {};
      for (const w of stack.workers) {
        const text = (await rawRequest(w.url, { path: '/metrics' })).text;
        for (const l of text.split('\n')) {
          if (l.startsWith('ibworker_http_requests_total{') && l.includes('code="5')) out[`worker${w.clientId} ${l.slice(0, l.lastIndexOf(' '))}`] = Number(l.slice(l.lastIndexOf(' ') + 1));
        }
      }
      return out;
    };
    const worker5xxBefore = await worker5xx();
    const statuses = new Tally();
    /** Kinds of fault, with every `query:<parameter>` bad value counted as one kind. */
    const kinds = new Tally();
    const kindOf = (k: string) => (/^query:(unknown|repeated|missing|huge)$/.test(k) || !k.startsWith('query:') ? k : 'query:bad-value');
    const routesHit = new Set<string>();
    const leaks: string[] = [];
    const fuzz = watch();
    const started = Date.now();
    // The op travels as its index so a counterexample prints short.
    const perOp = fc.integer({ min: 0, max: ops.length - 1 }).chain((i) => badRequestsFor(ops[i]!).map((r) => ({ op: i as number | undefined, r })));
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof({ weight: 30, arbitrary: perOp }, { weight: 1, arbitrary: rawTargets.map((r) => ({ op: undefined as number | undefined, r })) }), async ({ op: opKey, r }) => {
          const op = opKey === undefined ? undefined : ops[opKey]!;
          const request: RawRequest = { method: r.method, path: expand(r.target, r.huge), headers: r.headers, timeoutMs: 10_000, agent, ...(r.body === undefined ? {} : { body: expand(r.body, r.huge) }) };
          const sentBefore = fuzz.count();
          const res = await rawRequest(stack.proxyUrl, request);
          // Requests run one at a time, so a message seen meanwhile was caused by this one.
          if (fuzz.count() !== sentBefore) leaks.push(`${r.kind}: ${r.method} ${r.target.slice(0, 160)} ${r.body?.slice(0, 160) ?? ''} → ${res.status}`);
          statuses.add(String(res.status));
          kinds.add(kindOf(r.kind));
          if (op) routesHit.add(`${op.method} ${op.path}`);
          const what = `${r.kind}: ${r.method} ${r.target.slice(0, 200)} ${r.body?.slice(0, 200) ?? ''} → ${res.status} ${res.text.slice(0, 300)}`;
          assert.ok(res.status >= 400 && res.status < 500, what);
          // A request line over Node's header limit is refused by the HTTP parser itself, without a body;
          // every other refusal is our error envelope.
          if (r.kind !== 'query:huge') assert.equal(typeof res.json?.error?.code, 'string', what);
        }),
        { numRuns: RUNS, includeErrorInReport: true },
      );
    } finally {
      fuzz.stop();
    }
    const fuzzMs = Date.now() - started;

    const reachedIb = Object.entries(fuzz.seen).filter(([name]) => !(name in quiet.seen));
    assert.deepEqual(leaks, [], 'no fuzzed request caused a message to the simulator');
    assert.deepEqual(reachedIb, [], 'no message reached the simulator because of the fuzzed requests');
    for (const s of [stack.proxy, ...stack.workers.map((w) => w.service)]) assert.equal(s.child.exitCode ?? s.child.signalCode, null, `${s.name} is alive`);
    assert.ok(await poolFullyUp(stack.proxyUrl, WORKERS), 'proxy ready and every worker in rotation');
    const proxyMetrics = (await rawRequest(stack.proxyUrl, { path: '/metrics' })).text;
    const worker5xxAfter = await worker5xx();
    assert.deepEqual(Object.entries(worker5xxAfter).filter(([k, v]) => v !== worker5xxBefore[k]), [], 'no worker answered 5xx during the fuzz run');
    assert.equal(metricSum(proxyMetrics, 'ibproxy_requests_total', 'code="5'), 0, 'the proxy answered no 5xx');

    printFigures('fuzz-every-route', {
      workers: WORKERS,
      requests: statuses.total(),
      routes: ops.length,
      routesHit: routesHit.size,
      fuzzMs,
      requestsPerSecond: Math.round((statuses.total() / fuzzMs) * 1000),
      statuses: statuses.counts,
      kinds: kinds.counts,
      backgroundMessagesInQuietSecond: quiet.seen,
      messagesDuringFuzz: fuzz.seen,
      messagesCausedByFuzz: reachedIb.length,
      processesAlive: 1 + WORKERS,
    });
    assert.ok(statuses.total() >= 1_000);
    assert.equal(routesHit.size, ops.length, 'every route was fuzzed');
  });

  test('bad historical requests use up none of the pool-wide historical budget', async () => {
    // IB allows 60 historical requests per 10 minutes for the whole pool; that budget belongs to requests
    // that reach IB. 61 refused requests (400, nothing sent) must not lock every caller out for 10 minutes.
    const refused = new Tally();
    for (let i = 0; i < 61; i++) {
      const r = await rawRequest(stack.proxyUrl, { path: `/historical?symbol=${SYMBOL_POOL[i % SYMBOL_POOL.length]}&durationStr=1%20D&barSizeSetting=1%20hour&timeout=abc${i}`, agent });
      refused.add(String(r.status));
    }
    assert.deepEqual(Object.keys(refused.counts), ['400'], `every bad request refused as invalid: ${JSON.stringify(refused.counts)}`);
    const bars = await rawRequest(stack.proxyUrl, { path: '/historical?symbol=MSFT&durationStr=2%20D&barSizeSetting=1%20hour', agent });
    assert.equal(bars.status, 200, `a valid historical request afterwards: ${bars.status} ${bars.text.slice(0, 300)}`);
  });

  test('query values with broken percent-encoding are refused with 400 before anything reaches IB', async () => {
    const { sim } = stack;
    const reached: string[] = [];
    const on = (m: { name: string }) => reached.push(m.name);
    sim.control.events.on('message', on);
    const answers: string[] = [];
    try {
      for (const target of BROKEN_QUERY_TARGETS) {
        const before = reached.length;
        const res = await rawRequest(stack.proxyUrl, { path: target, agent });
        answers.push(`${target} → ${res.status}${reached.length > before ? ` (sent ${reached.slice(before).join(',')} to IB)` : ''}`);
      }
    } finally {
      sim.control.events.off('message', on);
    }
    assert.deepEqual(reached, [], `undecodable query values went to IB as literal text: ${answers.join('; ')}`);
    assert.ok(answers.every((a) => / → 400$/.test(a)), answers.join('; '));
  });
});
