import type { Logger } from '@ibrest/common';
import {
  createAuditLog,
  createIdempotencyStore,
  createMaintenanceSchedule,
  createOrderJournal,
  combineStorageHealth,
  projectJournal,
  type AuditLog,
  type IdempotencyStore,
  type MaintenanceSchedule,
  type OrderJournal,
  type StorageHealthSource,
} from '@ibrest/order-safety';
import type { WorkerConfig } from '../config.js';
import type { RouteDef } from '../http/route.js';
import { ClientIdLease } from '../ib/client-id-lease.js';
import { CompletedOrders } from '../ib/completed-orders.js';
import type { IbConnection } from '../ib/connection.js';
import type { MarketDataService } from '../ib/market-data.js';
import type { OrderIds } from '../ib/order-ids.js';
import type { OrderService } from '../ib/order-service.js';
import type { Requests } from '../ib/requests.js';
import type { Sync } from '../ib/sync.js';
import { WhatIfService } from '../ib/what-if.js';
import type { WorkerMetrics } from '../metrics.js';
import { orderAdminRoutes } from '../routes/order-admin.js';
import { orderEventRoutes } from '../routes/order-events.js';
import type { Mirror } from '../state/mirror.js';
import { JournalSync } from './journal-sync.js';
import { KeyLedger } from './key-ledger.js';
import { orderPipeline, type Step } from './pipeline.js';
import { PolicyGate } from './policy-gate.js';
import { Reconciler } from './reconciler.js';
import { guardRoutes, watchMaintenance } from './route-guards.js';

export interface OrderSafety {
  dataDir: string;
  journal: OrderJournal;
  idempotency: IdempotencyStore;
  audit: AuditLog;
  /** The three files together: writable or not (and why); the `orders` capability follows it. */
  storage: StorageHealthSource;
  schedule: MaintenanceSchedule;
  lease: ClientIdLease;
  /** Present once attached to the IB side. */
  reconciler?: Reconciler;
  journalSync?: JournalSync;
  /**
   * Wires the order path to the IB side: journal from the mirror, reconciliation on every session, the
   * order pipeline (orders/pipeline.ts), and returns the route guard plus the extra routes.
   * Call before the connection starts, so the first session is reconciled too.
   */
  attach(deps: AttachDeps): AttachResult;
  close(): Promise<void>;
}

export interface AttachResult {
  guard: (routes: RouteDef[]) => RouteDef[];
  routes: RouteDef[];
  /** The order write pipeline the order routes run. */
  pipeline: Step[];
  ledger: KeyLedger;
  /** Journal view of an order that left the bounded mirror. */
  journalView: (ids: { orderId?: number; permId?: number; clientId?: number }) => Record<string, unknown> | undefined;
}

export interface AttachDeps {
  conn: IbConnection;
  requests: Requests;
  mirror: Mirror;
  orderIds: OrderIds;
  /** The mirror's sync: reconciliation also follows its re-sync after a 1101. */
  sync: Sync;
  marketData: MarketDataService;
  orders: OrderService;
}

/**
 * Opens the durable parts (journal, idempotency store, audit log: one directory, DATA_DIR) and the
 * clientId lease. Fails before the worker listens if the directory is unusable or locked by another
 * process, so two workers can never write one journal.
 */
export async function openOrderSafety(
  config: WorkerConfig,
  o: { log: Logger; metrics: WorkerMetrics; clock?: () => number },
): Promise<OrderSafety> {
  const cfg = config.orderSafety;
  const clock = o.clock ?? Date.now;
  const common = { dir: cfg.dataDir, fsync: cfg.fsync, clock };
  const journal = await createOrderJournal(common);
  const idempotency = await createIdempotencyStore({ ...common, ttlMs: cfg.idempotencyTtlMs });
  const audit = await createAuditLog(common);
  const projection = await projectJournal(journal);
  // New ids start above every id the journal holds: a gateway with a fresh id sequence never gets one back.
  const highestId = journal.highestOrderId([config.clientId, ...config.spareClientIds]);
  const storage = combineStorageHealth([journal, idempotency, audit]);
  const stopHealthLog = storage.onHealthChange((h) => {
    if (h.ok) o.log.info({ dataDir: cfg.dataDir }, 'order storage writable again');
    else o.log.error({ dataDir: cfg.dataDir, file: h.file, reason: h.reason }, 'order storage not writable');
  });
  const schedule = createMaintenanceSchedule(cfg.maintenanceWindows, { clock });
  const stopWatch = watchMaintenance(schedule, o.metrics);
  const lease = new ClientIdLease({
    configured: config.clientId,
    spares: config.spareClientIds,
    refusalsBeforeFallback: config.clientIdRefusalsBeforeFallback,
    log: o.log,
    metrics: o.metrics,
  });
  o.log.info(
    {
      dataDir: cfg.dataDir,
      journalCursor: journal.lastCursor,
      idempotencyKeys: idempotency.size,
      unresolvedKeys: idempotency.unresolved().length,
    },
    'order safety opened',
  );

  const safety: OrderSafety = {
    dataDir: cfg.dataDir,
    journal,
    idempotency,
    audit,
    storage,
    schedule,
    lease,
    attach(d) {
      const journalSync = new JournalSync(journal, projection, d.mirror, o.log, o.metrics);
      const reconciler = new Reconciler({
        conn: d.conn,
        mirror: d.mirror,
        completed: new CompletedOrders(d.conn, d.requests),
        journal: journalSync,
        sync: d.sync,
        configuredClientId: config.clientId,
        syncTimeoutMs: config.syncTimeoutMs,
        log: o.log,
      });
      const policy = new PolicyGate({
        config: cfg.policy,
        audit,
        marketData: d.marketData,
        log: o.log,
        metrics: o.metrics,
      });
      d.orderIds.floor(highestId + 1);
      const ledger = new KeyLedger({
        store: idempotency,
        service: d.orders,
        reconciler,
        journal: journalSync,
        projection,
        connState: () => d.conn.state,
        log: o.log,
      });
      const pipeline = orderPipeline({
        service: d.orders,
        store: idempotency,
        journal: journalSync,
        policy,
        schedule,
        ledger,
        clientId: () => d.conn.clientId,
        log: o.log,
        metrics: o.metrics,
      });
      safety.reconciler = reconciler;
      safety.journalSync = journalSync;
      const whatIf = new WhatIfService(d.conn, d.requests, d.orderIds);
      return {
        guard: (routes) => guardRoutes(routes, { schedule, metrics: o.metrics }),
        routes: [
          ...orderEventRoutes({ journal }),
          ...orderAdminRoutes({ whatIf, policy, requests: d.requests, mirror: d.mirror }),
        ],
        pipeline,
        ledger,
        journalView: (ids) => {
          const v = projection.get(ids);
          return v === undefined ? undefined : { ...v, fromJournal: true };
        },
      };
    },
    async close() {
      stopWatch();
      stopHealthLog();
      const results = await Promise.allSettled([journal.close(), idempotency.close(), audit.close()]);
      for (const r of results)
        if (r.status === 'rejected') o.log.warn({ err: r.reason }, 'closing order safety storage failed');
    },
  };
  return safety;
}
