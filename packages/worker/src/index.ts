export { loadConfig, type WorkerConfig } from './config.js';
export { startWorker, VERSION, type WorkerHandle, type StartOptions } from './worker.js';
export type { OrderIntent } from './ib/order-service.js';
export type { Flight, Outcome, Step } from './orders/pipeline.js';
export type { SubscriptionSpec, SubscriptionHandle } from './ib/subscriptions.js';
export type { OrderEvent, OrderRecord, MirrorEvent } from './state/types.js';
export { Mirror } from './state/mirror.js';
export * from './errors.js';
