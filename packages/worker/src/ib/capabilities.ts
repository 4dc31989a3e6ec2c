import { EventEmitter } from 'node:events';
import { CAPABILITIES, type Capability } from '@ibrest/contract';

export interface CapabilityStatus {
  ok: boolean;
  /** Why it is not ok (or, for an ok mirror while the link is down, how it is served). */
  reason?: string;
  /** ISO time of the last change of `ok`. */
  since?: string;
}

/** The readiness body's `capabilities`: every capability with its status. */
export type Capabilities = Record<Capability, CapabilityStatus>;

/** What the connection knows, in the terms capabilities are derived from. */
export interface LinkFacts {
  socket: boolean;
  /** nextValidId and managedAccounts received (the handshake is done, order ids are known). */
  session: boolean;
  /** The session's initial sync is done. */
  synced: boolean;
  /** No 1100 outstanding. */
  linkUp: boolean;
  everSynced: boolean;
  /** Farms reported down, per capability, as `name (code)`. */
  farmsDown: Record<'marketData' | 'historical' | 'secDef', string[]>;
}

/**
 * The one owner of the worker's capabilities (the vocabulary is `@ibrest/contract`'s). The connection reports its
 * facts through {@link derive}; the order-safety store reports whether order storage is writable through
 * {@link reportOrderStorage}. Readiness, metrics and the routes read {@link snapshot}. Emits 'change'
 * (Capabilities) when any `ok` flips.
 */
export class CapabilityTracker extends EventEmitter {
  private facts: LinkFacts = {
    socket: false,
    session: false,
    synced: false,
    linkUp: true,
    everSynced: false,
    farmsDown: { marketData: [], historical: [], secDef: [] },
  };
  private storage: { ok: boolean; reason?: string } = { ok: true };
  private current: Capabilities;

  constructor() {
    super();
    const since = new Date().toISOString();
    const starting = CAPABILITIES.map((c) => [c, { ok: false, reason: 'starting', since }]);
    this.current = Object.fromEntries(starting) as Capabilities;
    this.recompute();
  }

  derive(facts: LinkFacts): void {
    this.facts = facts;
    this.recompute();
  }

  /**
   * The order store's writability: a failed write (disk full, read-only, I/O error) takes `orders` out; the
   * next successful write brings it back. Nothing else depends on it.
   */
  reportOrderStorage(writable: boolean, reason?: string): void {
    if (this.storage.ok === writable && this.storage.reason === reason) return;
    this.storage = writable ? { ok: true } : { ok: false, reason: reason ?? 'order storage is not writable' };
    this.recompute();
  }

  snapshot(): Capabilities {
    return this.current;
  }

  has(capability: Capability): boolean {
    return this.current[capability].ok;
  }

  private recompute(): void {
    const f = this.facts;
    const linkReason = !f.socket
      ? 'no socket to TWS/IB Gateway'
      : !f.session
        ? 'handshake in progress'
        : !f.linkUp
          ? 'TWS has lost its link to IB (1100)'
          : !f.synced
            ? 'initial sync in progress'
            : undefined;
    const farm = (c: 'marketData' | 'historical' | 'secDef'): string | undefined =>
      linkReason ?? (f.farmsDown[c].length > 0 ? `farm down: ${f.farmsDown[c].join(', ')}` : undefined);
    const next: Record<Capability, string | undefined> = {
      link: linkReason,
      mirror: f.everSynced ? undefined : 'never synced',
      orders: linkReason ?? (this.storage.ok ? undefined : this.storage.reason),
      marketData: farm('marketData'),
      historical: farm('historical'),
      secDef: farm('secDef'),
    };
    let changed = false;
    const now = new Date().toISOString();
    const out = {} as Capabilities;
    for (const c of CAPABILITIES) {
      const prev = this.current[c];
      const ok = next[c] === undefined;
      const status: CapabilityStatus = { ok, since: prev.ok === ok ? prev.since : now };
      // An ok mirror while the link is down is served stale: say so.
      if (c === 'mirror' && ok && linkReason !== undefined) status.reason = 'stale: served from the last state';
      if (!ok) status.reason = next[c];
      if (prev.ok !== ok) changed = true;
      out[c] = status;
    }
    this.current = out;
    if (changed) this.emit('change', out);
  }
}
