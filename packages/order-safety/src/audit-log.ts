import { SqliteLog, type OpenReport, type ReadOptions, type SubscribeOptions } from './sqlite-log.js';
import type { StorageHealthSource } from './storage-file.js';

/** The order facts worth keeping with a decision; a fixed set, so a whole request body is never dumped. */
export interface AuditOrderSummary {
  orderId?: number;
  symbol?: string;
  secType?: string;
  side?: string;
  quantity?: number;
  orderType?: string;
  limitPrice?: number;
  currency?: string;
}

export interface AuditEntryInput {
  /** The API key's configured *name*. Never the key itself. */
  apiKeyName?: string;
  /** place, modify, cancel, whatif, global-cancel … */
  action: string;
  decision: 'accepted' | 'refused';
  /** Stable reason code; required for refusals (POLICY_*, IDEMPOTENCY_KEY_REUSED, IB_MAINTENANCE_WINDOW …). */
  code?: string;
  /** Human-readable reason. */
  reason?: string;
  reqId?: string;
  idempotencyKey?: string;
  order?: AuditOrderSummary;
}

export interface AuditEntry extends AuditEntryInput {
  cursor: number;
  /** ISO-8601 time of the decision. */
  time: string;
}

export interface AuditLogOptions {
  dir: string;
  /** @default true */
  fsync?: boolean;
  /** @default Date.now */
  clock?: () => number;
  /** Full `PRAGMA integrity_check` at open instead of `quick_check`. @default false */
  fullIntegrityCheck?: boolean;
  /** @default 1000 */
  probeIntervalMs?: number;
  /** @default 1000 */
  identityIntervalMs?: number;
}

export interface AuditLog extends StorageHealthSource {
  /** Appends a decision; resolves once it is durable. */
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  read(options?: ReadOptions): Promise<AuditEntry[]>;
  last(): AuditEntry | undefined;
  subscribe(listener: (entry: AuditEntry) => void, options?: SubscribeOptions): () => void;
  readonly openReport: OpenReport;
  close(): Promise<void>;
}

const SUMMARY_FIELDS = [
  'orderId',
  'symbol',
  'secType',
  'side',
  'quantity',
  'orderType',
  'limitPrice',
  'currency',
] as const;

/** Keeps only the summary fields of `order` (anything else, e.g. a full IB Order object, is dropped). */
export function summarizeOrder(order: Record<string, unknown>): AuditOrderSummary {
  const out: Record<string, unknown> = {};
  for (const field of SUMMARY_FIELDS) if (order[field] !== undefined) out[field] = order[field];
  return out as AuditOrderSummary;
}

export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const clock = options.clock ?? Date.now;
  const log = SqliteLog.open<AuditEntry>({
    dir: options.dir,
    prefix: 'audit',
    label: 'audit log',
    sync: options.fsync ?? true,
    ...(options.fullIntegrityCheck === undefined ? {} : { fullIntegrityCheck: options.fullIntegrityCheck }),
    ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }),
    ...(options.identityIntervalMs === undefined ? {} : { identityIntervalMs: options.identityIntervalMs }),
  });
  return {
    record(entry) {
      if (entry.decision !== 'accepted' && entry.decision !== 'refused') {
        return Promise.reject(
          new TypeError(`expected decision "accepted" or "refused", got ${JSON.stringify(entry.decision)}`),
        );
      }
      if (entry.decision === 'refused' && !entry.code) {
        return Promise.reject(new TypeError('expected a reason code for a refused decision, got none'));
      }
      const stored: Omit<AuditEntry, 'cursor'> = { time: new Date(clock()).toISOString(), ...entry };
      if (entry.order) stored.order = summarizeOrder(entry.order as Record<string, unknown>);
      return log.append(stored);
    },
    read: (opts) => log.read(opts),
    last: () => log.last(),
    subscribe: (listener, opts) => log.subscribe(listener, opts),
    openReport: log.openReport,
    health: () => log.health(),
    isWritable: () => log.isWritable(),
    onHealthChange: (listener) => log.onHealthChange(listener),
    close: () => log.close(),
  };
}
