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
import type { OrderHooks } from '../ib/order-service.js';
import type { Requests } from '../ib/requests.js';
import type { Sync } from '../ib/sync.js';
import { WhatIfService } from '../ib/what-if.js';
import type { WorkerMetrics } from '../metrics.js';
import { orderAdminRoutes } from '../routes/order-admin.js';
import { orderEventRoutes } from '../routes/order-events.js';
import type { Mirror } from '../state/mirror.js';
import { IdempotentOrders } from './idempotency.js';
import { JournalSync } from './journal-sync.js';
import { createOrderHooks } from './order-hooks.js';
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
   * order hooks (policy → idempotency → journal), and returns the route guard plus the extra routes.
   * Call before the connection starts, so the first session is reconciled too.
   */
  attach(deps: AttachDeps): { guard: (routes: RouteDef[]) => RouteDef[]; routes: RouteDef[] };
  close(): Promise<void>;
}

export interface AttachDeps {
  conn: IbConnection;
  requests: Requests;
  mirror: Mirror;
  orderIds: OrderIds;
  /** The mirror's sync: reconciliation also follows its re-sync after a 1101. */
  sync: Sync;
  marketData: MarketDataService;
  /** The hooks object the OrderService was built with; filled in here. */
  orderHooks: OrderHooks;
  extraHooks?: OrderHooks | undefined;
}

/**
 * Opens the durable parts (journal, idempotency store, audit log: one directory, DATA_DIR) and the
 * clientId lease. Fails before the worker listens if the directory is unusable or locked by another
 * process, so two workers can never write one journal.
 */
export async function openOrderSafety(config: WorkerConfig, o: { log: Logger; metrics: WorkerMetrics; clock?: () => number }): Promise<OrderSafety> {
  const cfg = config.orderSafety;
  const clock = o.clock ?? Date.now;
  const common = { dir: cfg.dataDir, fsync: cfg.fsync, clock };
  const journal = await createOrderJournal(common);
  const idempotency = await createIdempotencyStore({ ...common, ttlMs: cfg.idempotencyTtlMs });
  const audit = await createAuditLog(common);
  const projection = await projectJournal(journal);
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
  o.log.info({ dataDir: cfg.dataDir, journalCursor: journal.lastCursor, idempotencyKeys: idempotency.size, unresolvedKeys: idempotency.unresolved().length }, 'order safety opened');

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
      const policy = new PolicyGate({ config: cfg.policy, audit, marketData: d.marketData, log: o.log, metrics: o.metrics });
      const idempotent = new IdempotentOrders({
        store: idempotency,
        mirror: d.mirror,
        reconciler,
        journal: journalSync,
        clientId: () => d.conn.clientId,
        retryAfterSeconds: () => d.conn.retryAfterSeconds(),
        connState: () => d.conn.state,
        log: o.log,
        metrics: o.metrics,
      });
      Object.assign(d.orderHooks, createOrderHooks({ policy, store: idempotency, journal: journalSync, clientId: () => d.conn.clientId, extra: d.extraHooks }));
      safety.reconciler = reconciler;
      safety.journalSync = journalSync;
      const whatIf = new WhatIfService(d.conn, d.requests, d.orderIds);
      return {
        guard: (routes) => guardRoutes(routes, { schedule, idempotent, metrics: o.metrics }),
        routes: [...orderEventRoutes({ journal }), ...orderAdminRoutes({ whatIf, policy, requests: d.requests, mirror: d.mirror })],
      };
    },
    async close() {
      stopWatch();
      stopHealthLog();
      const results = await Promise.allSettled([journal.close(), idempotency.close(), audit.close()]);
      for (const r of results) if (r.status === 'rejected') o.log.warn({ err: r.reason }, 'closing order safety storage failed');
    },
  };
  return safety;
}
