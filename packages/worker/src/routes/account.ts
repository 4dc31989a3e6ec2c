import { ApiError, InvalidRequestError, NotFoundError } from '@ibrest/common';
import { feedFormat, FORMAT_PARAM } from '../http/feed-format.js';
import { typedValue } from '../state/account.js';
import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { ACCOUNT_SUMMARY_TAGS } from '../ib/account-requests.js';
import { isAdvisorAccount, tradingAccounts } from '../ib/account-follow.js';
import { answerAccount } from './account-streams.js';
import type { RouteDeps } from './deps.js';
import { FEED_PRODUCES } from './feeds-common.js';

const ACCOUNT_PARAM: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  description: 'A managed account of the login (default: the only one; with several, see each route)',
};

const STREAM_DESCRIPTION =
  '`?format=sse` (or `Accept: text/event-stream`) streams the changes from the mirror: the current state first, ' +
  'then one ' +
  'event per change (a repeated value is no change), `status` events when the IB connection degrades and comes back, ' +
  '`Last-Event-ID` resume; `?format=atom` answers the recent events as an Atom feed.';

const VALUE_LIST: Schema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      value: {
        oneOf: [{ type: 'number' }, { type: 'string' }],
        description: 'A number where IB means a number (its currency beside it), text otherwise',
      },
      currency: { type: 'string', description: 'ISO currency, BASE (the base currency), or "" for values without one' },
    },
  },
};

const VALUES: Schema = {
  type: 'object',
  description: 'tag → one entry per currency IB reports the tag in',
  additionalProperties: VALUE_LIST,
};

const PNL_FIELDS: Record<string, Schema> = {
  dailyPnL: { type: 'number' },
  unrealizedPnL: { type: 'number' },
  realizedPnL: { type: 'number' },
  updatedAt: { type: 'string', description: 'ISO 8601 with offset' },
};

const POSITION_PNL: Schema = {
  type: 'object',
  properties: {
    account: { type: 'string' },
    conId: { type: 'integer' },
    pos: { type: 'number' },
    value: { type: 'number' },
    ...PNL_FIELDS,
  },
};

export class AccountRequiredError extends ApiError {
  constructor(managed: string[]) {
    super(
      400,
      'ACCOUNT_REQUIRED',
      `This login manages several accounts: name one with ?account= (${managed.join(', ')})`,
      {
        details: { fields: [{ field: 'query.account', message: `required: one of ${managed.join(', ')}` }], managed },
      },
    );
  }
}

export function accountRoutes(deps: RouteDeps): RouteDef[] {
  const managed = (): string[] => [...deps.conn.accounts];
  /**
   * The account asked for (it must be one the login manages), or the default: the login's only trading
   * account; with several, `undefined` where the route aggregates the whole login, else 400 ACCOUNT_REQUIRED.
   */
  const account = (given: unknown, aggregate: boolean): string | undefined => {
    const all = managed();
    if (typeof given === 'string') {
      if (!all.includes(given)) {
        throw new NotFoundError('ACCOUNT_NOT_FOUND', `Account ${JSON.stringify(given)} is not managed by this login`, {
          managed: all,
        });
      }
      return given;
    }
    const own = tradingAccounts(all);
    if (own.length === 1) return own[0];
    if (aggregate) return undefined;
    throw new AccountRequiredError(own);
  };
  const settings = deps.feeds.settings;
  return [
    {
      method: 'get',
      path: '/accounts',
      operationId: 'listAccounts',
      summary: 'The accounts this login manages (managedAccounts), and which of them the mirror follows',
      tag: 'account',
      usesIb: true,
      response: {
        type: 'object',
        properties: {
          accounts: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                account: { type: 'string' },
                advisor: { type: 'boolean', description: 'A financial-advisor master account (holds no positions)' },
                synced: { type: 'boolean', description: 'Its values have been downloaded' },
              },
            },
          },
          default: { type: 'string', description: 'The account used when a request names none (absent with several)' },
        },
      },
      errors: {},
      handle: () => {
        const all = managed();
        if (all.length === 0) deps.requests.assertMirror();
        const own = tradingAccounts(all);
        return {
          body: {
            accounts: all.map((a) => ({
              account: a,
              advisor: isAdvisorAccount(a),
              synced: deps.mirror.account.isDownloaded(a),
            })),
            ...(own.length === 1 ? { default: own[0] } : {}),
          },
        };
      },
    },
    {
      method: 'get',
      path: '/account/updates',
      operationId: 'getAccountUpdates',
      summary: 'Account values (every tag in every currency) and portfolio of one account, from the mirror',
      description:
        'The mirror follows every managed account (reqAccountUpdatesMulti); the portfolio joins positions ' +
        '(reqPositions) with their PnL (reqPnLSingle). With several accounts and none named: 400 ACCOUNT_REQUIRED ' +
        '(streams: every account). ' +
        STREAM_DESCRIPTION,
      tag: 'account',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: { account: ACCOUNT_PARAM, format: FORMAT_PARAM },
      },
      response: {
        type: 'object',
        properties: {
          account: { type: 'string' },
          updatedAt: { type: 'string', description: 'ISO 8601 with offset' },
          values: VALUES,
          portfolio: { type: 'array', items: { type: 'object' } },
        },
      },
      produces: FEED_PRODUCES,
      errors: { 400: ['ACCOUNT_REQUIRED'], 404: ['ACCOUNT_NOT_FOUND'] },
      handle: (ctx) => {
        deps.requests.assertMirror();
        const acct = account(ctx.query.account, feedFormat(ctx.query, ctx.headers) !== 'json');
        return answerAccount(
          deps.accountFeed,
          settings,
          ctx,
          '/account/updates',
          {
            kind: 'account_values',
            title: `account values ${acct ?? 'all'}`,
            filter: { kinds: new Set(['value', 'position', 'positionPnl']), account: acct },
          },
          () => ({ body: deps.mirror.account.snapshot(acct!, deps.mirror.positions.all(acct)) }),
        );
      },
    },
    {
      method: 'get',
      path: '/account/summary',
      operationId: 'getAccountSummary',
      summary: 'Account summary (reqAccountSummary) for the given tags, every account of the group, every currency',
      description:
        '`$LEDGER:ALL` answers the ledger in every currency held (and BASE): values are keyed by tag and currency.',
      tag: 'account',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          tags: {
            type: 'string',
            maxLength: 1024,
            description: `Comma-separated IB tags (default all): ${ACCOUNT_SUMMARY_TAGS.join(', ')}, $LEDGER:<CCY>`,
          },
          group: {
            type: 'string',
            minLength: 1,
            maxLength: 64,
            description: 'Account group (default "All": every account of the login)',
          },
          account: { ...ACCOUNT_PARAM, description: 'Only this account (default: every account of the group)' },
        },
      },
      response: {
        type: 'object',
        properties: {
          accounts: {
            type: 'object',
            description: 'account → tag → [{ value, currency }]',
            additionalProperties: VALUES,
          },
        },
      },
      errors: { 404: ['ACCOUNT_NOT_FOUND'], 429: ['PACING_LIMIT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const tags =
          typeof query.tags === 'string'
            ? query.tags
                .split(',')
                .map((t: string) => t.trim())
                .filter((t: string) => t !== '')
            : [...ACCOUNT_SUMMARY_TAGS.filter((t) => !t.startsWith('$'))];
        const bad = tags.filter(
          (t: string) => !(ACCOUNT_SUMMARY_TAGS as readonly string[]).includes(t) && !/^\$LEDGER:[A-Z]{3}$/.test(t),
        );
        if (bad.length > 0 || tags.length === 0) {
          throw new InvalidRequestError(`Unknown account summary tags: ${bad.join(', ') || '(none given)'}`, {
            fields: [
              {
                field: 'query.tags',
                message: `expected IB tags (${ACCOUNT_SUMMARY_TAGS.join(', ')}), got ${JSON.stringify(bad)}`,
              },
            ],
          });
        }
        deps.requests.assertServing();
        const only = query.account === undefined ? undefined : account(query.account, true);
        const values = await deps.account.summary(query.group ?? 'All', tags, deadline);
        const accounts: Record<string, Record<string, { value: number | string; currency: string }[]>> = {};
        for (const v of values) {
          if (only !== undefined && v.account !== only) continue;
          const list = ((accounts[v.account] ??= {})[v.tag] ??= []);
          const entry = { value: typedValue(v.value), currency: v.currency };
          const same = list.findIndex((e) => e.currency === v.currency);
          if (same >= 0) list[same] = entry;
          else list.push(entry);
        }
        return { body: { accounts } };
      },
    },
    {
      method: 'get',
      path: '/account/positions',
      operationId: 'getPositions',
      summary: 'Positions of every account of the login, or of one (reqPositions, kept live in the mirror)',
      description: STREAM_DESCRIPTION,
      tag: 'account',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          account: { ...ACCOUNT_PARAM, description: 'Only this account (default: every account)' },
          format: FORMAT_PARAM,
        },
      },
      response: {
        type: 'object',
        properties: {
          positions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                account: { type: 'string' },
                contract: { type: 'object' },
                pos: { type: 'number' },
                avgCost: { type: 'number' },
              },
            },
          },
        },
      },
      produces: FEED_PRODUCES,
      errors: { 404: ['ACCOUNT_NOT_FOUND'] },
      handle: (ctx) => {
        deps.requests.assertMirror();
        const acct = ctx.query.account === undefined ? undefined : account(ctx.query.account, true);
        return answerAccount(
          deps.accountFeed,
          settings,
          ctx,
          '/account/positions',
          {
            kind: 'positions',
            title: `positions ${acct ?? 'all'}`,
            filter: { kinds: new Set(['position']), account: acct },
          },
          () => ({ body: { positions: deps.mirror.positions.all(acct) } }),
        );
      },
    },
    {
      method: 'get',
      path: '/account/pnl',
      operationId: 'getPnL',
      summary: 'Daily, unrealized and realized PnL of an account (reqPnL) and of each of its positions (reqPnLSingle)',
      description:
        'Kept live in the mirror for every account of the login. With several accounts and none named: ' +
        '400 ACCOUNT_REQUIRED (streams: every account). ' +
        STREAM_DESCRIPTION,
      tag: 'account',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: { account: ACCOUNT_PARAM, format: FORMAT_PARAM },
      },
      response: {
        type: 'object',
        properties: { account: { type: 'string' }, ...PNL_FIELDS, positions: { type: 'array', items: POSITION_PNL } },
      },
      produces: FEED_PRODUCES,
      errors: { 400: ['ACCOUNT_REQUIRED'], 404: ['ACCOUNT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: (ctx) => {
        deps.requests.assertMirror();
        const acct = account(ctx.query.account, feedFormat(ctx.query, ctx.headers) !== 'json');
        return answerAccount(
          deps.accountFeed,
          settings,
          ctx,
          '/account/pnl',
          {
            kind: 'pnl',
            title: `PnL ${acct ?? 'all'}`,
            filter: { kinds: new Set(['pnl', 'positionPnl']), account: acct },
          },
          async () => {
            const pnl = await deps.account.getPnL(acct!, ctx.deadline);
            return { body: { ...pnl, positions: deps.mirror.account.positionPnls(acct) } };
          },
        );
      },
    },
  ];
}
