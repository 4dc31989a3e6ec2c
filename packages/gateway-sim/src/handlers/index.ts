import type { HandlerEntry } from './context.js';
import { ACCOUNT_HANDLERS } from './account.js';
import { CONNECTION_HANDLERS } from './connection.js';
import { CONTRACT_HANDLERS } from './contracts.js';
import { HISTORICAL_HANDLERS } from './historical.js';
import { MARKET_DATA_HANDLERS } from './market-data.js';
import { ORDER_HANDLERS } from './orders.js';
import { DEPTH_HANDLERS } from './depth.js';
import { REAL_TIME_BAR_HANDLERS } from './real-time-bars.js';
import { SCANNER_HANDLERS } from './scanners.js';
import { NEWS_HANDLERS } from './news.js';
import { FUNDAMENTAL_HANDLERS } from './fundamentals.js';
import { DISPLAY_GROUP_HANDLERS } from './display-groups.js';
import { FA_HANDLERS } from './fa.js';

/** msgId → handler for every request the simulator serves. */
export const HANDLERS: ReadonlyMap<number, HandlerEntry> = new Map([
  ...CONNECTION_HANDLERS,
  ...ACCOUNT_HANDLERS,
  ...CONTRACT_HANDLERS,
  ...ORDER_HANDLERS,
  ...MARKET_DATA_HANDLERS,
  ...HISTORICAL_HANDLERS,
  ...DEPTH_HANDLERS,
  ...REAL_TIME_BAR_HANDLERS,
  ...SCANNER_HANDLERS,
  ...NEWS_HANDLERS,
  ...FUNDAMENTAL_HANDLERS,
  ...DISPLAY_GROUP_HANDLERS,
  ...FA_HANDLERS,
]);

export type { HandlerEntry, SimContext } from './context.js';
