/**
 * Explanations of missed targets, shown in the README next to each target a run missed. They come from
 * profiles and side measurements described in each text; the figures they quote were taken on the same
 * machine kind as the tables.
 */
export const REASONS = {
  'reads-throughput': {
    title: 'Reads throughput and p99',
    text:
      'Every request crosses two loopback hops, and wrk, the proxy and seven workers share the same two cores (which ' +
      'other jobs were also using: see the load average above). The proxy is a single Node process and saturates one ' +
      'core first; even HAProxy in front of the same workers does not reach 10,000 req/s in every run here. A CPU ' +
      'profile of the proxy under 64 connections (`node --cpu-prof`) puts ≈ 50 % of its time in the kernel socket ' +
      'writes (`writeLatin1String` 38 %: the upstream request head; `writev` 11 %: the response), 6.5 % in GC, ' +
      '≈ 10 % in http-proxy-3 and the middleware chain, and about 1 % in pino. What would move it: forwarding with ' +
      "undici's `Pool` instead of http-proxy-3 in `packages/proxy/src/forward.ts` (earlier measurements of Node " +
      'proxies on this machine kind: 1.2–1.6× faster than http-proxy), or a second proxy process (node:cluster / ' +
      'SO_REUSEPORT) on machines with spare cores. p99 at 64 connections follows from the same saturation (queueing ' +
      'behind one busy event loop).',
  },
  'proxy-ratio': {
    title: 'Proxy throughput against HAProxy',
    text:
      'The ratio sits where earlier measurements put http-proxy-3 on this machine kind (0.26–0.56× ' +
      'nginx/HAProxy). The profile above shows no single hot spot in our own code; the access log costs little ' +
      '(compare the "ibrest-nolog" rows, `LOG_LEVEL=warn`). Reaching 0.5× reliably needs the undici forwarding ' +
      'change above.',
  },
  'proxy-latency': {
    title: 'Latency added by the proxy',
    text:
      'wrk is a closed loop: at 16 connections every target runs saturated, so p50 is 16 ÷ throughput, and a slower ' +
      'hop shows up as queueing, not as its own cost. The row at 1 connection isolates the hop itself.',
  },
  budget: {
    title: 'IB budget',
    text:
      'In per-connection mode the whole burst lasts about 2–3 s at 280 msg/s, so fixed costs that are not pacing ' +
      '(the 1,000 HTTP exchanges through the proxy on two shared cores, the last replies from the simulator, uneven ' +
      'spread of the coalesced requests over seven workers) weigh as much as the pacing itself; the pacers were not ' +
      'the bottleneck. In combined mode, where they are (≈ 17 s at 35 msg/s), the budget is used to ≥ 95 % with ' +
      'no pacing error.',
  },
  orders: {
    title: 'Order acknowledgement',
    text:
      'The difference splits into the proxy hop (see "Proxy hop at p50") and the worker\'s own HTTP path (request ' +
      'parsing, JSON-schema validation, the p-queue pacer, building the order record), against a bare @stoqey/ib ' +
      'client that only encodes one message. No timer sits on this path (the pacer sends at once while under budget).',
  },
  'proxy-rss': {
    title: 'Proxy RSS',
    text:
      'The live heap stays at ≈ 12 MB after GC; RSS grows under load because V8 lets the young generation and the ' +
      'old space grow before collecting. The proxy now runs with `--max-semi-space-size=4 --max-old-space-size=128` ' +
      '(`packages/stack` and `proxy.Dockerfile`; see "Fixes"), which keeps the peak near 90 MB for ≈ 10–15 % ' +
      'more CPU per request at saturation. A miss here means the flags were overridden or the heap really grew.',
  },
  'worker-rss': {
    title: 'Worker RSS',
    text: "Same mechanism as the proxy: heap after GC stays flat, RSS follows V8's heap sizing under load.",
  },
  heap: {
    title: 'Heap',
    text: 'Heap growth beyond 2 MB after a forced GC would point to retained objects; see the per-process figures.',
  },
  leaks: { title: 'Leaks', text: 'A socket or in-flight count above the idle baseline after the aborts settled.' },
};
