import type { Logger } from '@ibrest/common';
import type { Engine } from '../engine/engine.js';
import type { HistoricalPacer } from '../limits/historical-pacing.js';
import type { MarketDataLines } from '../limits/market-data-lines.js';
import type { Violation } from '../limits/violations.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';

/** What request handlers may use: the shared broker, the account-wide limits and the other sessions. */
export interface SimContext {
  readonly engine: Engine;
  readonly pacer: HistoricalPacer;
  readonly mdLines: MarketDataLines;
  readonly log: Logger;
  readonly farmNotices: ReadonlyArray<{ code: number; text: string }>;
  violation(v: Omit<Violation, 'time'>): void;
  /** Registers the session's clientId; returns the refusal text when it cannot (326). */
  registerClient(s: Session, clientId: number): string | undefined;
  readySessions(): Session[];
  /** Sends current market data for a new subscription and starts stepping its instrument. */
  priceWatch(conId: number): void;
}

export type Handler = (ctx: SimContext, s: Session, r: FieldReader) => void;

export interface HandlerEntry {
  name: string;
  handle: Handler;
}
