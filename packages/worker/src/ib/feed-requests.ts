import { EventName, type IBApi } from '@stoqey/ib';
import type { FeedEmitter, FeedSource } from '../feeds/types.js';
import { NotFaAccountError } from '../feeds/errors.js';
import { DeadlineExceededError } from '../errors.js';
import type { WorkerMetrics } from '../metrics.js';
import { Coalescer } from './coalescer.js';
import type { IbConnection } from './connection.js';
import type { Deadline } from './deadline.js';
import { ibErrorToApiError } from './error-codes.js';
import type { DisplayGroupSource } from './feed-sources.js';
import type { Requests } from './requests.js';

/** IB's FA data types as the API names them (profiles are gone at server version 177+). */
export const FA_DATA_TYPES = { groups: 1, profiles: 2, aliases: 3 } as const;
export type FaDataTypeName = keyof typeof FA_DATA_TYPES;

/** IB answers these without a reqId: one waiter list per answer event. */
type GlobalEvent =
  EventName.newsProviders | EventName.scannerParameters | EventName.receiveFA | EventName.mktDepthExchanges;

interface Waiter {
  accept(args: unknown[]): boolean;
  reject(err: Error): void;
}

/**
 * Feed-related one-shot requests (news providers, scanner parameters, depth exchanges, FA configuration,
 * display groups) and the news-bulletin subscription, whose answers carry no reqId. Identical one-shots in
 * flight share one IB request; scanner parameters (a large, rarely changing XML) are kept for 10 minutes.
 */
export class FeedRequests {
  /** answer event → callers waiting for it, in request order */
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly shared = new Coalescer<unknown>(0, () => this.metrics?.coalesced.inc({ kind: 'feed' }));
  private readonly scannerXml = new Coalescer<unknown>(600_000, () =>
    this.metrics?.coalesced.inc({ kind: 'scanner_parameters' }),
  );
  /** emitters of live news-bulletin topics (at most one: the key is fixed) */
  private readonly bulletins = new Set<FeedEmitter>();

  constructor(
    private readonly conn: IbConnection,
    private readonly requests: Requests,
    private readonly metrics?: WorkerMetrics,
  ) {
    for (const event of [
      EventName.newsProviders,
      EventName.scannerParameters,
      EventName.receiveFA,
      EventName.mktDepthExchanges,
    ]) {
      conn.listen(event, (...args: unknown[]) => {
        const list = this.waiters.get(event) ?? [];
        const i = list.findIndex((w) => w.accept(args));
        if (i >= 0) list.splice(i, 1);
      });
    }
    conn.listen(
      EventName.updateNewsBulletin,
      (msgId: number, msgType: number, message: string, origExchange: string) => {
        for (const out of this.bulletins) out.emit('bulletin', { msgId, msgType, message, origExchange });
      },
    );
    // IB refuses FA requests of a non-FA login with an error that names no request (-1, or Integer.MAX_VALUE).
    conn.listen(EventName.error, (err: Error, code: number, reqId: number) => {
      if ((reqId !== -1 && reqId !== 2147483647) || !/\bFA\b|financial advisor/i.test(err?.message ?? '')) return;
      for (const w of this.waiters.get(EventName.receiveFA)?.splice(0) ?? [])
        w.reject(new NotFaAccountError(err.message, code));
    });
  }

  newsProviders(d: Deadline): Promise<unknown> {
    return this.shared.run('newsProviders', () =>
      this.global(
        'news_providers',
        EventName.newsProviders,
        (api) => api.reqNewsProviders(),
        () => true,
        d,
        (a) => a[0],
      ),
    );
  }

  scannerParameters(d: Deadline): Promise<unknown> {
    return this.scannerXml.run('scannerParameters', () =>
      this.global(
        'scanner_parameters',
        EventName.scannerParameters,
        (api) => api.reqScannerParameters(),
        () => true,
        d,
        (a) => a[0],
      ),
    );
  }

  depthExchanges(d: Deadline): Promise<unknown> {
    return this.shared.run('depthExchanges', () =>
      this.global(
        'depth_exchanges',
        EventName.mktDepthExchanges,
        (api) => api.reqMktDepthExchanges(),
        () => true,
        d,
        (a) => a[0],
      ),
    );
  }

  /** The FA configuration XML of one type (groups, profiles, aliases). */
  requestFa(type: FaDataTypeName, d: Deadline): Promise<unknown> {
    const code = FA_DATA_TYPES[type];
    return this.shared.run(`fa:${type}`, () =>
      this.global(
        'request_fa',
        EventName.receiveFA,
        (api) => api.requestFA(code),
        (a) => a[0] === code,
        d,
        (a) => a[1],
      ),
    );
  }

  /** Replaces the FA configuration of one type; answers IB's replaceFAEnd text. */
  replaceFa(type: FaDataTypeName, xml: string, d: Deadline): Promise<string> {
    return this.requests.run<string>({
      operation: 'replace_fa',
      ...d,
      send: (api, reqId) => api.replaceFA(reqId, FA_DATA_TYPES[type], xml),
      onEvent: (name, args, done) => {
        if (name === EventName.replaceFAEnd) done(String(args[0] ?? ''));
      },
      onError: (e) =>
        /\bFA\b|financial advisor/i.test(e.message) ? new NotFaAccountError(e.message, e.code) : undefined,
    });
  }

  /** Display group ids TWS offers ("1|2|3" from IB → [1, 2, 3]). */
  queryDisplayGroups(d: Deadline): Promise<number[]> {
    return this.requests.run<number[]>({
      operation: 'query_display_groups',
      ...d,
      send: (api, reqId) => api.queryDisplayGroups(reqId),
      onEvent: (name, args, done) => {
        if (name !== EventName.displayGroupList) return;
        done(
          String(args[0] ?? '')
            .split('|')
            .map((x) => Number(x.trim()))
            .filter((n) => Number.isInteger(n) && n > 0),
        );
      },
    });
  }

  /** Sets a display group's contract ("conId@exchange", or "none"); the group must be subscribed. */
  async updateDisplayGroup(group: DisplayGroupSource, contractInfo: string, d: Deadline): Promise<void> {
    const sessionId = this.requests.assertServing();
    const reqId = group.reqId;
    if (reqId === undefined)
      throw new DeadlineExceededError('update_display_group', d.timeoutMs, {
        groupId: group.groupId,
        subscribed: false,
      });
    await this.requests.sendInSession(
      sessionId,
      'update_display_group',
      (api) => api.updateDisplayGroup(reqId, contractInfo),
      { deadlineAt: d.deadlineAt },
    );
  }

  /** News bulletins (IB has one bulletin subscription per connection; all messages, then new ones). */
  newsBulletinsSource(): FeedSource {
    return {
      key: 'news|bulletins',
      kind: 'news',
      title: 'IB news bulletins',
      lines: 0,
      depthBooks: 0,
      start: (out) => ({
        start: (api: unknown) => {
          this.bulletins.add(out);
          (api as IBApi).reqNewsBulletins(true);
        },
        cancel: (api: unknown) => {
          this.bulletins.delete(out);
          (api as IBApi).cancelNewsBulletins();
        },
        onEvent: () => undefined,
        onError: (e) => out.fail(ibErrorToApiError(e.code, e.message, { operation: 'news_bulletins' })),
      }),
    };
  }

  private global<T>(
    operation: string,
    event: GlobalEvent,
    send: (api: IBApi) => void,
    matches: (args: unknown[]) => boolean,
    d: Deadline,
    value: (args: unknown[]) => T,
  ): Promise<T> {
    const sessionId = this.requests.assertServing();
    return new Promise<T>((resolve, reject) => {
      const list = this.waiters.get(event) ?? [];
      this.waiters.set(event, list);
      const timer = setTimeout(
        () => {
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          reject(new DeadlineExceededError(operation, d.timeoutMs));
        },
        Math.max(0, d.deadlineAt - Date.now()),
      );
      const waiter: Waiter = {
        accept: (args) => {
          if (!matches(args)) return false;
          clearTimeout(timer);
          resolve(value(args));
          return true;
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      list.push(waiter);
      this.requests.sendInSession(sessionId, operation, send, { deadlineAt: d.deadlineAt }).catch((err) => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        waiter.reject(err);
      });
    });
  }
}
