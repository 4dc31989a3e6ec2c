import { EventName } from '@stoqey/ib';
import type { ApiError, Logger } from '@ibrest/common';
import { DeadlineExceededError } from '../errors.js';
import type { AccountPnL } from '../state/account.js';
import type { Mirror } from '../state/mirror.js';
import type { MirrorChange } from '../state/types.js';
import type { Deadline } from './deadline.js';
import { ibErrorToApiError } from './error-codes.js';
import type { SubscriptionHandle, SubscriptionRegistry } from './subscriptions.js';

/**
 * IB's account codes of financial-advisor master accounts start with F (DF on paper logins): they hold no
 * positions of their own, so the default account of a login is chosen among the others.
 */
export function isAdvisorAccount(account: string): boolean {
  return /^D?F\d/.test(account);
}

/** The accounts a login trades in: its managed accounts without an advisor master. */
export function tradingAccounts(managed: readonly string[]): string[] {
  const own = managed.filter((a) => !isAdvisorAccount(a));
  return own.length > 0 ? own : [...managed];
}

interface Followed {
  handle: SubscriptionHandle;
  error?: ApiError;
}

/**
 * Keeps PnL live in the mirror: reqPnL for every trading account of the login and reqPnLSingle for every
 * position the mirror holds (up to `maxPositions`), through the subscription registry (which re-establishes
 * them after a reconnect or 1101). Positions that close release their subscription.
 */
export class AccountFollower {
  private readonly accounts = new Map<string, Followed>();
  private readonly positions = new Map<string, Followed>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly registry: Pick<SubscriptionRegistry, 'acquire'>,
    private readonly mirror: Mirror,
    private readonly options: { maxPositions: number; log: Logger },
  ) {
    mirror.onChange((c) => this.onChange(c));
  }

  /** Follows these accounts' PnL (idempotent; accounts no longer managed are released). */
  follow(managed: readonly string[]): void {
    const wanted = new Set(tradingAccounts(managed));
    for (const [account, f] of this.accounts) {
      if (wanted.has(account)) continue;
      f.handle.release();
      this.accounts.delete(account);
    }
    for (const account of wanted) {
      const existing = this.accounts.get(account);
      if (existing !== undefined && existing.error === undefined) continue;
      existing?.handle.release();
      this.followAccount(account);
    }
    for (const p of this.mirror.positions.all()) this.followPosition(p.account, p.contract.conId ?? 0);
  }

  private followAccount(account: string): void {
    const f = {} as Followed;
    f.handle = this.registry.acquire({
      key: `pnl:${account}`,
      kind: 'pnl',
      lines: 0,
      start: (api, reqId) => api.reqPnL(reqId, account, ''),
      cancel: (api, reqId) => api.cancelPnL(reqId),
      onEvent: (name, args) => {
        if (name !== EventName.pnl) return;
        const [dailyPnL, unrealizedPnL, realizedPnL] = args as (number | undefined)[];
        f.error = undefined;
        this.mirror.apply({ type: 'pnl', account, dailyPnL, unrealizedPnL, realizedPnL });
        this.wake();
      },
      onError: (err) => {
        f.error = ibErrorToApiError(err.code, err.message, { operation: 'pnl' });
        this.options.log.warn({ account, ibCode: err.code }, 'PnL subscription refused');
        this.wake();
      },
    });
    this.accounts.set(account, f);
  }

  private followPosition(account: string, conId: number): void {
    const key = `${account}:${conId}`;
    if (this.positions.has(key) || conId === 0) return;
    if (this.positions.size >= this.options.maxPositions) return;
    const f = {} as Followed;
    f.handle = this.registry.acquire({
      key: `pnl_single:${key}`,
      kind: 'pnl',
      lines: 0,
      start: (api, reqId) => api.reqPnLSingle(reqId, account, '', conId),
      cancel: (api, reqId) => api.cancelPnLSingle(reqId),
      onEvent: (name, args) => {
        if (name !== EventName.pnlSingle) return;
        const [pos, dailyPnL, unrealizedPnL, realizedPnL, value] = args as (number | undefined)[];
        // A position closed meanwhile: IB keeps answering with an empty row.
        if (this.mirror.positions.get(account, conId) === undefined) return;
        this.mirror.apply({ type: 'positionPnl', account, conId, pos, dailyPnL, unrealizedPnL, realizedPnL, value });
      },
      onError: (err) => {
        f.error = ibErrorToApiError(err.code, err.message, { operation: 'pnl_single' });
        this.options.log.debug({ account, conId, ibCode: err.code }, 'position PnL subscription refused');
      },
    });
    this.positions.set(key, f);
  }

  private onChange(c: MirrorChange): void {
    if (c.kind !== 'position') return;
    const conId = (c.data.contract as { conId?: number } | undefined)?.conId ?? 0;
    const key = `${c.account}:${conId}`;
    if (c.data.pos === 0) {
      this.positions.get(key)?.handle.release();
      this.positions.delete(key);
    } else {
      this.followPosition(c.account, conId);
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The account's PnL, waiting (up to the deadline) for IB's first report. */
  async pnl(account: string, d: Deadline): Promise<AccountPnL> {
    if (!this.accounts.has(account)) this.followAccount(account);
    for (;;) {
      const latest = this.mirror.account.getPnl(account);
      if (latest !== undefined) return latest;
      const f = this.accounts.get(account);
      if (f?.error !== undefined) {
        // Refused (an account IB does not know…): the next call asks again.
        f.handle.release();
        this.accounts.delete(account);
        throw f.error;
      }
      const left = d.deadlineAt - Date.now();
      if (left <= 0) throw new DeadlineExceededError('pnl', d.timeoutMs, { account });
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Position PnL subscriptions held (for /health and tests). */
  followedPositions(): number {
    return this.positions.size;
  }
}
