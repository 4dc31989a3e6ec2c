import type { Logger } from '@ibrest/common';
import type { Engine } from '../engine/engine.js';
import type { HistoricalPacer } from '../limits/historical-pacing.js';
import type { MarketDataLines } from '../limits/market-data-lines.js';
import type { Violation } from '../limits/violations.js';
import type { Session } from '../session.js';
import type { FeedState } from '../engine/feed-state.js';
import type { FieldReader } from '../wire/fields.js';

/** What request handlers may use: the shared broker, the account-wide limits and the other sessions. */
export interface SimContext {
  readonly engine: Engine;
  readonly pacer: HistoricalPacer;
  readonly mdLines: MarketDataLines;
  /** Depth books of the account (IB default 3 → error 309). */
  readonly depthBooks: MarketDataLines;
  /** News bulletins, display groups and the FA configuration: state shared by all clients. */
  readonly feeds: FeedState;
  readonly log: Logger;
  readonly farmNotices: ReadonlyArray<{ code: number; text: string }>;
  violation(v: Omit<Violation, 'time'>): void;
  /** Registers the session's clientId; returns the refusal text when it cannot (326). */
  registerClient(s: Session, clientId: number): string | undefined;
  readySessions(): Session[];
  /** Sends current market data for a new subscription and starts stepping its instrument. */
  priceWatch(conId: number): void;
  /** Account ids for MANAGED_ACCTS (an FA master first when configured). */
  managedAccounts(): string[];
  /** True between a 1100 and the 1101/1102 that ends it: no data flows. */
  isLinkDown(): boolean;
}

export type Handler = (ctx: SimContext, s: Session, r: FieldReader) => void;

export interface HandlerEntry {
  name: string;
  handle: Handler;
}
