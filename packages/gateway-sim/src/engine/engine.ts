import { Accounts, DEFAULT_ACCOUNTS, type AccountSeed } from './accounts.js';
import { buildCatalogue, Catalogue } from './catalogue.js';
import { systemClock, type Clock } from './clock.js';
import type { BrokerEvent, BrokerListener } from './events.js';
import { Market } from './market.js';
import { MatchingEngine } from './matching-engine.js';
import { WhatIfDesk } from './what-if.js';

export interface EngineOptions {
  seed: number;
  clock?: Clock;
  accounts?: AccountSeed[];
  /** Reported as AccountType in summaries. */
  accountType?: string;
}

/**
 * The whole simulated broker behind the wire: catalogue, prices, accounts and orders. One per simulator,
 * shared by every connection (as one TWS session is shared by its API clients).
 */
export class Engine {
  readonly seed: number;
  readonly clock: Clock;
  readonly catalogue: Catalogue;
  readonly market: Market;
  readonly accounts: Accounts;
  readonly orders: MatchingEngine;
  readonly whatIf: WhatIfDesk;
  readonly accountType: string;
  private readonly listeners = new Set<BrokerListener>();

  constructor(opts: EngineOptions) {
    this.seed = opts.seed;
    this.clock = opts.clock ?? systemClock;
    this.accountType = opts.accountType ?? 'INDIVIDUAL';
    this.catalogue = new Catalogue(buildCatalogue(this.clock.now()));
    this.market = new Market(this.catalogue, opts.seed, () => Math.floor(this.clock.now() / 1000));
    this.accounts = new Accounts(opts.accounts ?? DEFAULT_ACCOUNTS, this.catalogue, this.market);
    this.orders = new MatchingEngine(this.accounts, this.market, this.clock, (ev) => this.publish(ev), opts.seed);
    this.whatIf = new WhatIfDesk(this.accounts, this.market, this.clock);
  }

  onEvent(fn: BrokerListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private publish(ev: BrokerEvent): void {
    for (const fn of this.listeners) fn(ev);
  }
}
