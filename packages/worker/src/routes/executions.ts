import { FORMAT_PARAM } from '../http/feed-format.js';
import type { RouteDef } from '../http/route.js';
import { answerAccount } from './account-streams.js';
import type { RouteDeps } from './deps.js';
import { FEED_PRODUCES } from './feeds-common.js';

export function executionRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/executions',
      operationId: 'listExecutions',
      summary: "Executions with their commission reports (the day's, and every fill since connect; from the mirror)",
      description:
        "`?format=sse` streams them: the mirror's executions first, then an `execution` event per new fill " +
        'and a `commission` event when its commission report arrives (the execution with `commissionReport`), ' +
        '`status` events through IB outages, `Last-Event-ID` resume; `?format=atom` answers the recent ones as an ' +
        'Atom feed. Filters other than `acctCode` apply to JSON.',
      tag: 'executions',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          clientId: { type: 'integer', minimum: 0, maximum: 2147483647 },
          acctCode: { type: 'string', minLength: 1, maxLength: 32 },
          time: {
            type: 'string',
            pattern: '^\\d{8}[ -]\\d{2}:\\d{2}:\\d{2}$',
            description: 'At or after "yyyyMMdd HH:mm:ss"',
          },
          symbol: { type: 'string', minLength: 1, maxLength: 32 },
          secType: { type: 'string', minLength: 1, maxLength: 8 },
          exchange: { type: 'string', minLength: 1, maxLength: 32 },
          side: { type: 'string', enum: ['BUY', 'SELL', 'BOT', 'SLD'] },
          format: FORMAT_PARAM,
        },
      },
      response: {
        type: 'object',
        properties: {
          executions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                contract: { type: 'object' },
                execution: { type: 'object' },
                commissionReport: { type: 'object' },
              },
            },
          },
        },
      },
      produces: FEED_PRODUCES,
      errors: {},
      handle: (ctx) => {
        deps.requests.assertMirror();
        const { timeout: _t, format: _f, ...filter } = ctx.query;
        const account = typeof filter.acctCode === 'string' ? filter.acctCode : undefined;
        return answerAccount(
          deps.accountFeed,
          deps.feeds.settings,
          ctx,
          '/executions',
          {
            kind: 'executions',
            title: `executions ${account ?? 'all'}`,
            filter: { kinds: new Set(['execution', 'commission']), account },
          },
          () => ({ body: { executions: deps.mirror.executions.query(filter) } }),
        );
      },
    },
  ];
}
