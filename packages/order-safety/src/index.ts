export * from './order-journal.js';
export type { ReadOptions, SubscribeOptions, OpenReport } from './sqlite-log.js';
export type { MigrationReport } from './migrate-jsonl.js';
export {
  DataDirLockedError,
  LogClosedError,
  LogUnavailableError,
  StorageCorruptError,
  combineStorageHealth,
  type StorageHealth,
  type StorageHealthSource,
} from './storage-file.js';
export * from './idempotency-keys.js';
export * from './idempotency-store.js';
export * from './safety-policy.js';
export * from './policy-config.js';
export * from './maintenance-windows.js';
export * from './audit-log.js';
export * from './config.js';
export * from './reconcile.js';
