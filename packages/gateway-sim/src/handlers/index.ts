import type { HandlerEntry } from './context.js';
import { ACCOUNT_HANDLERS } from './account.js';
import { CONNECTION_HANDLERS } from './connection.js';
import { CONTRACT_HANDLERS } from './contracts.js';
import { HISTORICAL_HANDLERS } from './historical.js';
import { MARKET_DATA_HANDLERS } from './market-data.js';
import { ORDER_HANDLERS } from './orders.js';

/** msgId → handler for every request the simulator serves. */
export const HANDLERS: ReadonlyMap<number, HandlerEntry> = new Map([
  ...CONNECTION_HANDLERS,
  ...ACCOUNT_HANDLERS,
  ...CONTRACT_HANDLERS,
  ...ORDER_HANDLERS,
  ...MARKET_DATA_HANDLERS,
  ...HISTORICAL_HANDLERS,
]);

export type { HandlerEntry, SimContext } from './context.js';
