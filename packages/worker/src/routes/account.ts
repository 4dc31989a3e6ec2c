import { InvalidRequestError, NotFoundError } from '@ibrest/common';
import type { RouteDef } from '../http/route.js';
import { ACCOUNT_SUMMARY_TAGS } from '../ib/account-requests.js';
import { defaultAccount, type RouteDeps } from './deps.js';

const ACCOUNT_QUERY = {
  type: 'object' as const,
  additionalProperties: false,
  properties: { account: { type: 'string' as const, minLength: 1, maxLength: 32, description: 'Managed account (default: the first)' } },
};

export function accountRoutes(deps: RouteDeps): RouteDef[] {
  /** The account asked for, which must be one this login manages. */
  const account = (given: unknown, fromMirror = false): string => {
    if (fromMirror) deps.requests.assertMirror();
    else deps.requests.assertServing();
    const a = defaultAccount(deps, given);
    const managed = deps.conn.accounts;
    if (a === undefined || !managed.includes(a)) {
      throw new NotFoundError('ACCOUNT_NOT_FOUND', `Account ${JSON.stringify(given)} is not managed by this login`, { managed });
    }
    return a;
  };
  return [
    {
      method: 'get',
      path: '/account/updates',
      operationId: 'getAccountUpdates',
      summary: 'Account values and portfolio (reqAccountUpdates, kept live in the mirror)',
      tag: 'account',
      usesIb: true,
      query: ACCOUNT_QUERY,
      response: { type: 'object', properties: { account: { type: 'string' }, updateTime: { type: 'string' }, values: { type: 'object' }, portfolio: { type: 'array' } } },
      errors: { 404: ['ACCOUNT_NOT_FOUND'] },
      handle: ({ query }) => ({ body: deps.mirror.account.snapshot(account(query.account, true)) }),
    },
    {
      method: 'get',
      path: '/account/summary',
      operationId: 'getAccountSummary',
      summary: 'Account summary (reqAccountSummary) for the given tags',
      tag: 'account',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          tags: { type: 'string', maxLength: 1024, description: `Comma-separated IB tags (default all): ${ACCOUNT_SUMMARY_TAGS.join(', ')}, $LEDGER:<CCY>` },
          group: { type: 'string', minLength: 1, maxLength: 64, description: 'Account group (default "All")' },
        },
      },
      response: { type: 'object', properties: { accounts: { type: 'object', description: 'account → tag → { value, currency }' } } },
      errors: { 429: ['PACING_LIMIT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const tags = typeof query.tags === 'string' ? query.tags.split(',').map((t: string) => t.trim()).filter((t: string) => t !== '') : [...ACCOUNT_SUMMARY_TAGS.filter((t) => !t.startsWith('$'))];
        const bad = tags.filter((t: string) => !(ACCOUNT_SUMMARY_TAGS as readonly string[]).includes(t) && !/^\$LEDGER:[A-Z]{3}$/.test(t));
        if (bad.length > 0 || tags.length === 0) {
          throw new InvalidRequestError(`Unknown account summary tags: ${bad.join(', ') || '(none given)'}`, {
            fields: [{ field: 'query.tags', message: `expected IB tags (${ACCOUNT_SUMMARY_TAGS.join(', ')}), got ${JSON.stringify(bad)}` }],
          });
        }
        const values = await deps.account.summary(query.group ?? 'All', tags, deadline);
        const accounts: Record<string, Record<string, { value: string; currency: string }>> = {};
        for (const v of values) (accounts[v.account] ??= {})[v.tag] = { value: v.value, currency: v.currency };
        return { body: { accounts } };
      },
    },
    {
      method: 'get',
      path: '/account/positions',
      operationId: 'getPositions',
      summary: 'Positions (reqPositions, kept live in the mirror)',
      tag: 'account',
      usesIb: true,
      query: ACCOUNT_QUERY,
      response: { type: 'object', properties: { positions: { type: 'array', items: { type: 'object', properties: { account: { type: 'string' }, contract: { type: 'object' }, pos: { type: 'number' }, avgCost: { type: 'number' } } } } } },
      errors: {},
      handle: ({ query }) => {
        deps.requests.assertMirror();
        return { body: { positions: deps.mirror.positions.all(query.account) } };
      },
    },
    {
      method: 'get',
      path: '/account/pnl',
      operationId: 'getPnL',
      summary: 'Daily, unrealized and realized PnL of an account (reqPnL; the subscription stays live after the first call)',
      tag: 'account',
      usesIb: true,
      query: ACCOUNT_QUERY,
      response: { type: 'object', properties: { account: { type: 'string' }, dailyPnL: { type: 'number' }, unrealizedPnL: { type: 'number' }, realizedPnL: { type: 'number' }, updatedAt: { type: 'string' } } },
      errors: { 404: ['ACCOUNT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => ({ body: await deps.account.getPnL(account(query.account), deadline) }),
    },
  ];
}
