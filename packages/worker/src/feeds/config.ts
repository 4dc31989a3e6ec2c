import { envInt, type Env } from '@ibrest/common';

/** Feed settings read from the environment (part of WorkerConfig as `feeds`). */
export interface FeedConfig {
  /** SSE heartbeat comment interval (FEED_HEARTBEAT_MS). @default 15000 */
  heartbeatMs: number;
  /** Events buffered per lagging caller before coalescing/eviction (FEED_BUFFER_EVENTS). @default 256 */
  bufferEvents: number;
  /** Recent events kept per subscription for Atom and Last-Event-ID replay (FEED_HISTORY_EVENTS). @default 100 */
  historyEvents: number;
  /** Entries of an Atom document (FEED_ATOM_ENTRIES). @default 50 */
  atomEntries: number;
  /** An Atom poll keeps the IB subscription this long for the next poll (FEED_ATOM_LINGER_MS). @default 60000 */
  atomLingerMs: number;
  /** Market-depth books this worker may hold (IB_MARKET_DEPTH_BOOKS; IB allows 3 by default). @default 3 */
  depthBooks: number;
}

export function loadFeedConfig(env: Env): FeedConfig {
  return {
    heartbeatMs: envInt(env, 'FEED_HEARTBEAT_MS', 15_000, { min: 100, max: 300_000 }),
    bufferEvents: envInt(env, 'FEED_BUFFER_EVENTS', 256, { min: 1, max: 100_000 }),
    historyEvents: envInt(env, 'FEED_HISTORY_EVENTS', 100, { min: 1, max: 100_000 }),
    atomEntries: envInt(env, 'FEED_ATOM_ENTRIES', 50, { min: 1, max: 10_000 }),
    atomLingerMs: envInt(env, 'FEED_ATOM_LINGER_MS', 60_000, { min: 0, max: 3_600_000 }),
    depthBooks: envInt(env, 'IB_MARKET_DEPTH_BOOKS', 3, { min: 0, max: 1_000 }),
  };
}
