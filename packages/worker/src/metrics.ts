import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every worker metric, created once per registry. Names follow docs/architecture.md exactly
 * (`ibworker_` prefix, base units, `_total` only on counters).
 */
export function createWorkerMetrics(registry: Registry, info: { clientId: number; version: string }) {
  const registers = [registry];
  const m = {
    info: new Gauge({
      name: 'ibworker_info',
      help: 'Identifies the worker (always 1)',
      labelNames: ['client_id', 'version'],
      registers,
    }),
    connectionState: new Gauge({
      name: 'ibworker_ib_connection_state',
      help: 'IB connection state: 0 disconnected, 1 connecting, 2 connected, 3 ready, 4 degraded',
      registers,
    }),
    ready: new Gauge({
      name: 'ibworker_ib_ready',
      help: '1 when the IB connection is ready to serve, else 0',
      registers,
    }),
    reconnects: new Counter({
      name: 'ibworker_ib_reconnects_total',
      help: 'Reconnect attempts after a lost connection',
      registers,
    }),
    ibErrors: new Counter({
      name: 'ibworker_ib_errors_total',
      help: 'IB error and notice messages by IB code',
      labelNames: ['code'],
      registers,
    }),
    clientIdInUse: new Counter({
      name: 'ibworker_ib_client_id_in_use_total',
      help: 'Connections refused with IB 326 (clientId in use)',
      registers,
    }),
    capabilityUp: new Gauge({
      name: 'ibworker_capability_up',
      help: '1 while the worker can serve the capability (link, mirror, orders, marketData, historical, secDef)',
      labelNames: ['capability'],
      registers,
    }),
    farmUp: new Gauge({
      name: 'ibworker_ib_farm_up',
      help: '1 while a data farm reports OK',
      labelNames: ['farm'],
      registers,
    }),
    ibRequestDuration: new Histogram({
      name: 'ibworker_ib_request_duration_seconds',
      help: 'IB round trips by operation',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    httpRequests: new Counter({
      name: 'ibworker_http_requests_total',
      help: 'HTTP requests served',
      labelNames: ['route', 'method', 'code'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'ibworker_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    pacerQueueDepth: new Gauge({
      name: 'ibworker_pacer_queue_depth',
      help: 'Messages waiting in the pacer',
      registers,
    }),
    pacerWait: new Histogram({
      name: 'ibworker_pacer_wait_seconds',
      help: 'Time a message waited in the pacer',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    pacerMessages: new Counter({
      name: 'ibworker_pacer_messages_total',
      help: 'Messages sent to IB through the pacer',
      registers,
    }),
    pacerBudget: new Gauge({
      name: 'ibworker_pacer_budget_messages_per_second',
      help: 'Configured IB_MSG_RATE',
      registers,
    }),
    pacingRejections: new Counter({
      name: 'ibworker_pacing_rejections_total',
      help: 'Requests answered 429 before reaching IB',
      labelNames: ['kind'],
      registers,
    }),
    coalesced: new Counter({
      name: 'ibworker_coalesced_requests_total',
      help: 'Requests served by an identical in-flight (or just finished) IB request',
      labelNames: ['kind'],
      registers,
    }),
    marketDataLines: new Gauge({
      name: 'ibworker_market_data_lines_in_use',
      help: 'Market-data lines held (snapshots and streams)',
      registers,
    }),
    depthBooks: new Gauge({
      name: 'ibworker_market_depth_books_in_use',
      help: 'Market-depth books held by feeds',
      registers,
    }),
    feedSubscribers: new Gauge({
      name: 'ibworker_feed_subscribers',
      help: 'Callers attached to feeds (SSE streams, Atom holds)',
      labelNames: ['kind'],
      registers,
    }),
    feedIbSubscriptions: new Gauge({
      name: 'ibworker_feed_ib_subscriptions',
      help: 'IB subscriptions held by feeds (one per distinct contract, kind, parameters)',
      labelNames: ['kind'],
      registers,
    }),
    feedEvents: new Counter({
      name: 'ibworker_feed_events_total',
      help: 'Feed events delivered to callers',
      labelNames: ['kind'],
      registers,
    }),
    feedDropped: new Counter({
      name: 'ibworker_feed_dropped_events_total',
      help: 'Feed events a lagging caller never received (coalesced or evicted)',
      labelNames: ['kind'],
      registers,
    }),
    ordersPlaced: new Counter({ name: 'ibworker_orders_placed_total', help: 'Orders sent to IB', registers }),
    orderStatus: new Counter({
      name: 'ibworker_order_status_total',
      help: "Order status transitions seen (IB's names)",
      labelNames: ['status'],
      registers,
    }),
    orderRejects: new Counter({
      name: 'ibworker_order_rejects_total',
      help: 'Orders rejected by IB',
      labelNames: ['ib_code'],
      registers,
    }),
    fills: new Counter({ name: 'ibworker_fills_total', help: 'Executions received', registers }),
    orderAck: new Histogram({
      name: 'ibworker_order_ack_seconds',
      help: 'Place order → first acknowledged status',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    // Order safety (idempotency, journal, reconciliation, leases, policy, maintenance windows).
    idempotentReplays: new Counter({
      name: 'ibworker_idempotent_replays_total',
      help: 'Requests answered from a stored Idempotency-Key response',
      registers,
    }),
    idempotencyConflicts: new Counter({
      name: 'ibworker_idempotency_conflicts_total',
      help: 'Idempotency-Key reused with a different request (409)',
      registers,
    }),
    journalEvents: new Counter({
      name: 'ibworker_journal_events_total',
      help: 'Events appended to the order journal',
      labelNames: ['type'],
      registers,
    }),
    reconciledEvents: new Counter({
      name: 'ibworker_reconciled_events_total',
      help: 'Journal events recovered by reconciliation after a (re)connect',
      labelNames: ['type'],
      registers,
    }),
    clientIdLease: new Gauge({
      name: 'ibworker_client_id_lease',
      help: 'The clientId this worker connects with (configured or spare)',
      registers,
    }),
    clientIdFallbacks: new Counter({
      name: 'ibworker_client_id_fallbacks_total',
      help: 'Switches to a spare clientId after repeated 326',
      registers,
    }),
    clientIdStuck: new Gauge({
      name: 'ibworker_client_id_stuck',
      help: '1 while the clientId is refused with 326 and no spare may replace it (clientId 0)',
      registers,
    }),
    policyDecisions: new Counter({
      name: 'ibworker_policy_decisions_total',
      help: 'Safety-policy decisions on the order path',
      labelNames: ['decision', 'code'],
      registers,
    }),
    maintenanceWindow: new Gauge({
      name: 'ibworker_maintenance_window',
      help: '1 while inside a configured IB maintenance window',
      registers,
    }),
  };
  m.info.set({ client_id: String(info.clientId), version: info.version }, 1);
  m.ready.set(0);
  m.connectionState.set(0);
  return m;
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
