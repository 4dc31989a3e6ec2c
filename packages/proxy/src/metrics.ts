import { Counter, Gauge, Histogram } from 'prom-client';
import { createRegistries, type MetricsRegistries } from '@ibrest/common';
import { PROXY_VERSION } from './version.js';

/**
 * Every proxy metric, defined once (names fixed by docs/architecture.md). `backend` is `worker<clientId>`,
 * or `none` when no worker was chosen (local routes, refusals before routing). Labels are small enums only:
 * never raw URLs or key names.
 */
export interface ProxyMetrics {
  registries: MetricsRegistries;
  buildInfo: Gauge<'version' | 'node_version'>;
  requests: Counter<'backend' | 'method' | 'code'>;
  duration: Histogram<'backend' | 'method'>;
  inFlight: Gauge<'backend'>;
  upstreamErrors: Counter<'backend' | 'reason'>;
  backendUp: Gauge<'backend'>;
  healthChecks: Counter<'backend' | 'result'>;
  retries: Counter<'backend'>;
  authFailures: Counter<'reason'>;
  pacingRejections: Counter<'kind'>;
  marketDataLinesInUse: Gauge;
  marketDataLinesBudget: Gauge;
  depthBooksInUse: Gauge;
  depthBooksBudget: Gauge;
  budgetRejections: Counter<'kind'>;
  /** 1 while an IB maintenance window is running; read at scrape time through `maintenanceProbe`. */
  maintenanceWindow: Gauge;
  maintenanceRejections: Counter;
  passiveDown: Counter<'backend' | 'reason'>;
  openStreams: Gauge;
  streamRefusals: Counter<'reason'>;
  upstreamBusy: Counter<'pool'>;
  bodyBytesInFlight: Gauge;
  bodyRefusals: Counter<'reason'>;
  backendCapability: Gauge<'backend' | 'capability'>;
  /** Set by the composition root: whether a maintenance window is running now. */
  maintenanceProbe: () => boolean;
  /** `requests` + `duration` for one answered request, through label children made once per combination. */
  observeRequest(backend: string, method: string, code: number, seconds: number): void;
  /** `inFlight` for one worker, through its label child. */
  setInFlight(backend: string, value: number): void;
}

/**
 * Memoises a metric's label children (`metric.labels(...)`) by their label values: the hot path then skips
 * prom-client's label-object building and validation. Label values here are small enums, so the map is bounded.
 */
export function childCache<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const children = new Map<string, T>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = children.get(key);
    if (child === undefined) {
      child = make(...values);
      children.set(key, child);
    }
    return child;
  };
}

/** IB round trips take seconds (historical data, order acks), so buckets reach the worker's 60 s cap. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Bounds the `method` label: arbitrary client methods must not create series. */
export function methodLabel(method: string | undefined): string {
  const m = (method ?? '').toUpperCase();
  return KNOWN_METHODS.has(m) ? m : 'OTHER';
}

export function createProxyMetrics(): ProxyMetrics {
  const registries = createRegistries();
  const registers = [registries.app];
  const m: ProxyMetrics = {
    registries,
    buildInfo: new Gauge({
      name: 'ibproxy_build_info',
      help: 'Build identity of the proxy (always 1)',
      labelNames: ['version', 'node_version'],
      registers,
    }),
    requests: new Counter({
      name: 'ibproxy_requests_total',
      help: 'Requests answered by the proxy',
      labelNames: ['backend', 'method', 'code'],
      registers,
    }),
    duration: new Histogram({
      name: 'ibproxy_request_duration_seconds',
      help: 'Request latency seen by the proxy',
      labelNames: ['backend', 'method'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    inFlight: new Gauge({
      name: 'ibproxy_requests_in_flight',
      help: 'Outstanding requests per worker (released on close, aborts included)',
      labelNames: ['backend'],
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'ibproxy_upstream_errors_total',
      help: 'Failures talking to workers, by reason',
      labelNames: ['backend', 'reason'],
      registers,
    }),
    backendUp: new Gauge({
      name: 'ibproxy_backend_up',
      help: '1 while the worker is in rotation (its readiness probe passes)',
      labelNames: ['backend'],
      registers,
    }),
    healthChecks: new Counter({
      name: 'ibproxy_health_checks_total',
      help: 'Active readiness probes by result',
      labelNames: ['backend', 'result'],
      registers,
    }),
    retries: new Counter({
      name: 'ibproxy_retries_total',
      help: 'Requests retried on another worker, by the worker that failed',
      labelNames: ['backend'],
      registers,
    }),
    authFailures: new Counter({
      name: 'ibproxy_auth_failures_total',
      help: '401/403 answers by reason',
      labelNames: ['reason'],
      registers,
    }),
    pacingRejections: new Counter({
      name: 'ibproxy_pacing_rejections_total',
      help: 'Pool-wide pacing refusals (429)',
      labelNames: ['kind'],
      registers,
    }),
    marketDataLinesInUse: new Gauge({
      name: 'ibproxy_market_data_lines_in_use',
      help: 'Market-data lines held by open streams, pool-wide',
      registers,
    }),
    marketDataLinesBudget: new Gauge({
      name: 'ibproxy_market_data_lines_budget',
      help: 'Configured pool-wide market-data line budget (MARKET_DATA_LINES)',
      registers,
    }),
    depthBooksInUse: new Gauge({
      name: 'ibproxy_depth_books_in_use',
      help: 'Market-depth books held by open streams, pool-wide',
      registers,
    }),
    depthBooksBudget: new Gauge({
      name: 'ibproxy_depth_books_budget',
      help: 'Configured pool-wide market-depth book budget (DEPTH_BOOKS)',
      registers,
    }),
    budgetRejections: new Counter({
      name: 'ibproxy_budget_rejections_total',
      help: 'Streams refused (429) because the pool-wide budget was exhausted',
      labelNames: ['kind'],
      registers,
    }),
    maintenanceWindow: new Gauge({
      name: 'ibproxy_maintenance_window',
      help: '1 while an IB maintenance window is running (requests that need IB get 503), else 0',
      registers,
      collect() {
        this.set(m.maintenanceProbe() ? 1 : 0);
      },
    }),
    maintenanceRejections: new Counter({
      name: 'ibproxy_maintenance_rejections_total',
      help: 'Requests answered 503 IB_MAINTENANCE_WINDOW without reaching a worker',
      registers,
    }),
    passiveDown: new Counter({
      name: 'ibproxy_passive_health_down_total',
      help: 'Workers taken out of rotation by passive health, by reason',
      labelNames: ['backend', 'reason'],
      registers,
    }),
    openStreams: new Gauge({
      name: 'ibproxy_open_streams',
      help: 'Open long-lived streams (SSE / Atom feeds, order events)',
      registers,
    }),
    streamRefusals: new Counter({
      name: 'ibproxy_stream_refusals_total',
      help: 'Streams refused by the per-key or total stream limit',
      labelNames: ['reason'],
      registers,
    }),
    upstreamBusy: new Counter({
      name: 'ibproxy_upstream_busy_total',
      help: 'Requests answered 503 UPSTREAM_BUSY: no upstream connection freed up in time',
      labelNames: ['pool'],
      registers,
    }),
    bodyBytesInFlight: new Gauge({
      name: 'ibproxy_body_bytes_in_flight',
      help: 'Request body bytes buffered by the proxy now',
      registers,
    }),
    bodyRefusals: new Counter({
      name: 'ibproxy_body_refusals_total',
      help: 'Requests refused while receiving their body, by reason',
      labelNames: ['reason'],
      registers,
    }),
    backendCapability: new Gauge({
      name: 'ibproxy_backend_capability',
      help: '1 while the worker reports the capability ok',
      labelNames: ['backend', 'capability'],
      registers,
    }),
    maintenanceProbe: () => false,
    observeRequest(backend, method, code, seconds) {
      requestsChild(backend, method, String(code)).inc();
      durationChild(backend, method).observe(seconds);
    },
    setInFlight(backend, value) {
      inFlightChild(backend).set(value);
    },
  };
  const requestsChild = childCache((backend, method, code) => m.requests.labels(backend!, method!, code!));
  const durationChild = childCache((backend, method) => m.duration.labels(backend!, method!));
  const inFlightChild = childCache((backend) => m.inFlight.labels(backend!));
  m.buildInfo.set({ version: PROXY_VERSION, node_version: process.version }, 1);
  return m;
}
