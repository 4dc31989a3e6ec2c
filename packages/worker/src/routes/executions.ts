import type { RouteDef } from '../http/route.js';
import type { RouteDeps } from './deps.js';

export function executionRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/executions',
      operationId: 'listExecutions',
      summary: "Executions with their commission reports (the day's, and every fill since connect; from the mirror)",
      tag: 'executions',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          clientId: { type: 'integer', minimum: 0, maximum: 2147483647 },
          acctCode: { type: 'string', minLength: 1, maxLength: 32 },
          time: { type: 'string', pattern: '^\\d{8}[ -]\\d{2}:\\d{2}:\\d{2}$', description: 'At or after "yyyyMMdd HH:mm:ss"' },
          symbol: { type: 'string', minLength: 1, maxLength: 32 },
          secType: { type: 'string', minLength: 1, maxLength: 8 },
          exchange: { type: 'string', minLength: 1, maxLength: 32 },
          side: { type: 'string', enum: ['BUY', 'SELL', 'BOT', 'SLD'] },
        },
      },
      response: {
        type: 'object',
        properties: {
          executions: { type: 'array', items: { type: 'object', properties: { contract: { type: 'object' }, execution: { type: 'object' }, commissionReport: { type: 'object' } } } },
        },
      },
      errors: {},
      handle: ({ query }) => {
        deps.requests.assertMirror();
        const { timeout: _t, ...filter } = query;
        return { body: { executions: deps.mirror.executions.query(filter) } };
      },
    },
  ];
}
