import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  metricSum,
  NO_WINDOWS,
  poolFullyUp,
  printFigures,
  rawRequest,
  sleep,
  Tally,
  type RawRequest,
} from './helpers/faults-kit.js';
import {
  badRequestsFor,
  BROKEN_QUERY_TARGETS,
  expand,
  opsFromOpenApi,
  rawTargets,
  SYMBOL_POOL,
  type Op,
} from './helpers/faults-bad-requests.js';
import { startStack, type Stack } from './helpers/stack.js';

const WORKERS = 3;
const RUNS = 1_200;

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
    ops = opsFromOpenApi((await rawRequest(stack.proxyUrl, { path: '/openapi.json' })).json);
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
      return {
        seen,
        count: () => Object.values(seen).reduce((a, b) => a + b, 0),
        stop: () => sim.control.events.off('message', on),
      };
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
          if (l.startsWith('ibworker_http_requests_total{') && l.includes('code="5'))
            out[`worker${w.clientId} ${l.slice(0, l.lastIndexOf(' '))}`] = Number(l.slice(l.lastIndexOf(' ') + 1));
        }
      }
      return out;
    };
    const worker5xxBefore = await worker5xx();
    const statuses = new Tally();
    /** Kinds of fault, with every `query:<parameter>` bad value counted as one kind. */
    const kinds = new Tally();
    const kindOf = (k: string) =>
      /^query:(unknown|repeated|missing|huge)$/.test(k) || !k.startsWith('query:') ? k : 'query:bad-value';
    const routesHit = new Set<string>();
    const leaks: string[] = [];
    const fuzz = watch();
    const started = Date.now();
    // The op travels as its index so a counterexample prints short.
    const perOp = fc
      .integer({ min: 0, max: ops.length - 1 })
      .chain((i) => badRequestsFor(ops[i]!).map((r) => ({ op: i as number | undefined, r })));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 30, arbitrary: perOp },
            { weight: 1, arbitrary: rawTargets.map((r) => ({ op: undefined as number | undefined, r })) },
          ),
          async ({ op: opKey, r }) => {
            const op = opKey === undefined ? undefined : ops[opKey]!;
            const request: RawRequest = {
              method: r.method,
              path: expand(r.target, r.huge),
              headers: r.headers,
              timeoutMs: 10_000,
              agent,
              ...(r.body === undefined ? {} : { body: expand(r.body, r.huge) }),
            };
            const sentBefore = fuzz.count();
            const res = await rawRequest(stack.proxyUrl, request);
            // Requests run one at a time, so a message seen meanwhile was caused by this one.
            if (fuzz.count() !== sentBefore)
              leaks.push(
                `${r.kind}: ${r.method} ${r.target.slice(0, 160)} ${r.body?.slice(0, 160) ?? ''} → ${res.status}`,
              );
            statuses.add(String(res.status));
            kinds.add(kindOf(r.kind));
            if (op) routesHit.add(`${op.method} ${op.path}`);
            const what =
              `${r.kind}: ${r.method} ${r.target.slice(0, 200)} ${r.body?.slice(0, 200) ?? ''} → ` +
              `${res.status} ${res.text.slice(0, 300)}`;
            assert.ok(res.status >= 400 && res.status < 500, what);
            // A request line over Node's header limit is refused by the HTTP parser itself, without a body;
            // every other refusal is our error envelope.
            if (r.kind !== 'query:huge') assert.equal(typeof res.json?.error?.code, 'string', what);
          },
        ),
        { numRuns: RUNS, includeErrorInReport: true },
      );
    } finally {
      fuzz.stop();
    }
    const fuzzMs = Date.now() - started;

    const reachedIb = Object.entries(fuzz.seen).filter(([name]) => !(name in quiet.seen));
    assert.deepEqual(leaks, [], 'no fuzzed request caused a message to the simulator');
    assert.deepEqual(reachedIb, [], 'no message reached the simulator because of the fuzzed requests');
    for (const s of [stack.proxy, ...stack.workers.map((w) => w.service)])
      assert.equal(s.child.exitCode ?? s.child.signalCode, null, `${s.name} is alive`);
    assert.ok(await poolFullyUp(stack.proxyUrl, WORKERS), 'proxy ready and every worker in rotation');
    const proxyMetrics = (await rawRequest(stack.proxyUrl, { path: '/metrics' })).text;
    const worker5xxAfter = await worker5xx();
    assert.deepEqual(
      Object.entries(worker5xxAfter).filter(([k, v]) => v !== worker5xxBefore[k]),
      [],
      'no worker answered 5xx during the fuzz run',
    );
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
    // IB allows 60 historical requests (bars of 30 s or less) per 10 minutes for the whole pool; that budget
    // belongs to requests that reach IB. 61 refused requests (400, nothing sent) must not lock every caller out.
    const refused = new Tally();
    for (let i = 0; i < 61; i++) {
      const symbol = SYMBOL_POOL[i % SYMBOL_POOL.length];
      const path = `/historical?symbol=${symbol}&durationStr=1800%20S&barSizeSetting=30%20secs&timeout=abc${i}`;
      const r = await rawRequest(stack.proxyUrl, { path, agent });
      refused.add(String(r.status));
    }
    assert.deepEqual(
      Object.keys(refused.counts),
      ['400'],
      `every bad request refused as invalid: ${JSON.stringify(refused.counts)}`,
    );
    const path = '/historical?symbol=MSFT&durationStr=3600%20S&barSizeSetting=30%20secs';
    const bars = await rawRequest(stack.proxyUrl, { path, agent });
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
        answers.push(
          `${target} → ${res.status}` +
            `${reached.length > before ? ` (sent ${reached.slice(before).join(',')} to IB)` : ''}`,
        );
      }
    } finally {
      sim.control.events.off('message', on);
    }
    assert.deepEqual(reached, [], `undecodable query values went to IB as literal text: ${answers.join('; ')}`);
    assert.ok(
      answers.every((a) => / → 400$/.test(a)),
      answers.join('; '),
    );
  });
});
