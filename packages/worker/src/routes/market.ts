import { BAR_SIZES } from '@ibrest/contract';
import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import type { RouteDeps } from './deps.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery, contractProblems } from './schemas.js';

export { BAR_SIZES } from '@ibrest/contract';
export const WHAT_TO_SHOW = ['TRADES', 'MIDPOINT', 'BID', 'ASK', 'BID_ASK', 'HISTORICAL_VOLATILITY', 'OPTION_IMPLIED_VOLATILITY', 'ADJUSTED_LAST', 'SCHEDULE', 'AGGTRADES'] as const;

const whatToShow: Schema = { type: 'string', enum: WHAT_TO_SHOW, description: 'Data type (default TRADES)' };
const useRTH: Schema = { type: 'boolean', description: 'Regular trading hours only (default true)' };

export function marketRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/historical',
      operationId: 'getHistoricalBars',
      summary: 'Historical bars (reqHistoricalData); identical requests share one IB request and its answer for 15 s',
      tag: 'market data',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...CONTRACT_PROPERTIES,
          endDateTime: { type: 'string', pattern: '^(\\d{8}[ -]\\d{2}:\\d{2}:\\d{2}( [A-Za-z/_]+)?)?$', description: 'End of the period, "yyyyMMdd HH:mm:ss[ TZ]" (default now)' },
          durationStr: { type: 'string', pattern: '^\\d{1,5} [SDWMY]$', description: 'Period, e.g. "1 D", "2 W" (default "1 D")' },
          barSizeSetting: { type: 'string', enum: BAR_SIZES, description: 'Bar size (default "1 hour")' },
          whatToShow,
          useRTH,
        },
      },
      response: { type: 'object', properties: { contract: { type: 'object' }, bars: { type: 'array', items: { type: 'object' } } } },
      errors: { 404: ['CONTRACT_NOT_FOUND', 'NO_DATA'], 429: ['PACING_LIMIT', 'IB_PACING_VIOLATION'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const contract = contractFromQuery(query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const bars = await deps.historical.getBars(
          {
            contract,
            endDateTime: query.endDateTime ?? '',
            durationStr: query.durationStr ?? '1 D',
            barSizeSetting: query.barSizeSetting ?? '1 hour',
            whatToShow: query.whatToShow ?? 'TRADES',
            useRTH: query.useRTH ?? true,
          },
          deadline,
        );
        return { body: { contract, bars } };
      },
    },
    {
      method: 'get',
      path: '/historical/head-timestamp',
      operationId: 'getHeadTimestamp',
      summary: 'Earliest available data point of a contract (reqHeadTimestamp)',
      tag: 'market data',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: { ...CONTRACT_PROPERTIES, whatToShow, useRTH } },
      response: { type: 'object', properties: { contract: { type: 'object' }, headTimestamp: { type: 'string' } } },
      errors: { 404: ['CONTRACT_NOT_FOUND', 'NO_DATA'], 429: ['PACING_LIMIT', 'IB_PACING_VIOLATION'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const contract = contractFromQuery(query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const headTimestamp = await deps.historical.getHeadTimestamp({ contract, whatToShow: query.whatToShow ?? 'TRADES', useRTH: query.useRTH ?? true }, deadline);
        return { body: { contract, headTimestamp } };
      },
    },
  ];
}
