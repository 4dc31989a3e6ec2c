import { InvalidRequestError } from '@ibrest/common';
import { BAR_SIZES } from '@ibrest/contract';
import { feedFormat, FORMAT_PARAM } from '../http/feed-format.js';
import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { historicalSource } from '../ib/feed-sources.js';
import { ibTimeToIso } from '../ib/ib-time.js';
import type { RouteDeps } from './deps.js';
import { answerFeed, FEED_PRODUCES } from './feeds-common.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery, contractProblems } from './schemas.js';

export { BAR_SIZES } from '@ibrest/contract';
export const WHAT_TO_SHOW = [
  'TRADES',
  'MIDPOINT',
  'BID',
  'ASK',
  'BID_ASK',
  'HISTORICAL_VOLATILITY',
  'OPTION_IMPLIED_VOLATILITY',
  'ADJUSTED_LAST',
  'SCHEDULE',
  'AGGTRADES',
] as const;

const whatToShow: Schema = { type: 'string', enum: WHAT_TO_SHOW, description: 'Data type (default TRADES)' };
const useRTH: Schema = { type: 'boolean', description: 'Regular trading hours only (default true)' };
const formatDate: Schema = {
  type: 'integer',
  enum: [1, 2],
  description:
    'How IB writes `ibTime`: 1 "yyyyMMdd HH:mm:ss[ zone]" (default), 2 epoch seconds; `time` is ISO 8601 either way',
};
const HISTORICAL_ERRORS = {
  404: ['CONTRACT_NOT_FOUND', 'NO_DATA'],
  429: ['PACING_LIMIT', 'IB_PACING_VIOLATION'],
  504: ['DEADLINE_EXCEEDED'],
};
const IB_DATE_TIME = '^(\\d{8}[ -]\\d{2}:\\d{2}:\\d{2}( [A-Za-z/_]+)?)?$';
const BAR: Schema = {
  type: 'object',
  properties: {
    time: {
      type: 'string',
      description: 'ISO 8601: a UTC instant for intraday bars, the trading date for daily and longer bars',
    },
    ibTime: { type: 'string', description: 'The time as IB sent it (see formatDate)' },
    open: { type: 'number' },
    high: { type: 'number' },
    low: { type: 'number' },
    close: { type: 'number' },
    volume: { type: 'number' },
    count: { type: 'integer' },
    WAP: { type: 'number' },
  },
};

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
          endDateTime: {
            type: 'string',
            pattern: IB_DATE_TIME,
            description: 'End of the period, "yyyyMMdd HH:mm:ss[ TZ]" (default now)',
          },
          durationStr: {
            type: 'string',
            pattern: '^\\d{1,5} [SDWMY]$',
            description: 'Period, e.g. "1 D", "2 W" (default "1 D")',
          },
          barSizeSetting: { type: 'string', enum: BAR_SIZES, description: 'Bar size (default "1 hour")' },
          whatToShow,
          useRTH,
          formatDate,
          keepUpToDate: {
            type: 'boolean',
            description:
              'Keep the bars up to date (IB updates the forming bar): needs `format=sse` (or atom); no endDateTime',
          },
          format: FORMAT_PARAM,
        },
      },
      response: { type: 'object', properties: { contract: { type: 'object' }, bars: { type: 'array', items: BAR } } },
      produces: FEED_PRODUCES,
      errors: HISTORICAL_ERRORS,
      handle: async (ctx) => {
        const { query, deadline } = ctx;
        const contract = contractFromQuery(query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const q = {
          contract,
          endDateTime: query.endDateTime ?? '',
          durationStr: query.durationStr ?? '1 D',
          barSizeSetting: query.barSizeSetting ?? '1 hour',
          whatToShow: query.whatToShow ?? 'TRADES',
          useRTH: query.useRTH ?? true,
          formatDate: (query.formatDate ?? 1) as 1 | 2,
        };
        const streaming = feedFormat(query, ctx.headers) !== 'json';
        if (query.keepUpToDate === true || streaming) {
          const fields: { field: string; message: string }[] = [];
          const bad = (field: string, message: string) => fields.push({ field, message });
          if (query.keepUpToDate !== true) bad('query.keepUpToDate', 'must be true to stream bars (format=sse/atom)');
          if (!streaming) bad('query.format', 'keepUpToDate needs format=sse or format=atom (or the Accept header)');
          if (q.endDateTime !== '') bad('query.endDateTime', 'must be empty with keepUpToDate (IB updates up to now)');
          if (fields.length > 0) {
            const text = fields.map((f) => `${f.field} ${f.message}`).join('; ');
            throw new InvalidRequestError(`Invalid request: ${text}`, { fields });
          }
          const source = historicalSource(q, deps.timeZone);
          const f = { kind: 'historical' as const, sources: [source], title: source.title };
          return answerFeed(deps.feeds, ctx, '/historical', f, async () => ({ body: null }));
        }
        const bars = await deps.historical.getBars(q, deadline);
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
      query: {
        type: 'object',
        additionalProperties: false,
        properties: { ...CONTRACT_PROPERTIES, whatToShow, useRTH },
      },
      response: {
        type: 'object',
        properties: {
          contract: { type: 'object' },
          headTimestamp: { type: 'string', description: 'ISO 8601 (UTC)' },
          ibHeadTimestamp: { type: 'string', description: 'As IB sent it' },
        },
      },
      errors: HISTORICAL_ERRORS,
      handle: async ({ query, deadline }) => {
        const contract = contractFromQuery(query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const headTimestamp = await deps.historical.getHeadTimestamp(
          { contract, whatToShow: query.whatToShow ?? 'TRADES', useRTH: query.useRTH ?? true },
          deadline,
        );
        const iso = ibTimeToIso(headTimestamp, deps.timeZone) ?? headTimestamp;
        return { body: { contract, headTimestamp: iso, ibHeadTimestamp: headTimestamp } };
      },
    },
    {
      method: 'get',
      path: '/historical/ticks',
      operationId: 'getHistoricalTicks',
      summary: 'Historical ticks (reqHistoricalTicks): trades, bid/ask quotes or midpoints, up to 1,000 per request',
      description:
        'Exactly one of startDateTime (ticks from it on) and endDateTime (ticks up to it). ' +
        "Tick times are ISO 8601 (UTC), with IB's epoch seconds beside.",
      tag: 'market data',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...CONTRACT_PROPERTIES,
          startDateTime: {
            type: 'string',
            pattern: IB_DATE_TIME,
            description: 'First tick time, "yyyyMMdd HH:mm:ss[ TZ]"',
          },
          endDateTime: {
            type: 'string',
            pattern: IB_DATE_TIME,
            description: 'Last tick time, "yyyyMMdd HH:mm:ss[ TZ]"',
          },
          numberOfTicks: {
            type: 'integer',
            minimum: 1,
            maximum: 1000,
            description: 'Ticks wanted (default 1000; IB may send more for the last second)',
          },
          whatToShow: {
            type: 'string',
            enum: ['TRADES', 'BID_ASK', 'MIDPOINT'],
            description: 'Tick kind (default TRADES)',
          },
          useRTH,
          ignoreSize: { type: 'boolean', description: 'BID_ASK: skip ticks that change only a size (default false)' },
        },
      },
      response: {
        type: 'object',
        properties: {
          contract: { type: 'object' },
          whatToShow: { type: 'string' },
          ticks: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                time: { type: 'string', description: 'ISO 8601 (UTC)' },
                ibTime: { type: 'integer', description: 'Epoch seconds, as IB sent it' },
                price: { type: 'number' },
                size: { type: 'number' },
                exchange: { type: 'string' },
                specialConditions: { type: 'string' },
                priceBid: { type: 'number' },
                priceAsk: { type: 'number' },
                sizeBid: { type: 'number' },
                sizeAsk: { type: 'number' },
                attributes: { type: 'object' },
              },
            },
          },
        },
      },
      errors: HISTORICAL_ERRORS,
      handle: async ({ query, deadline }) => {
        const contract = contractFromQuery(query);
        const problems = contractProblems(contract, 'query', false);
        const start = (query.startDateTime as string | undefined) ?? '';
        const end = (query.endDateTime as string | undefined) ?? '';
        if ((start === '') === (end === '')) {
          problems.push({
            field: start === '' ? 'query.startDateTime' : 'query.endDateTime',
            message: 'exactly one of startDateTime and endDateTime is required',
          });
        }
        assertNoProblems(problems);
        const whatToShow = (query.whatToShow ?? 'TRADES') as 'TRADES' | 'BID_ASK' | 'MIDPOINT';
        const ticks = await deps.historical.getTicks(
          {
            contract,
            startDateTime: start,
            endDateTime: end,
            numberOfTicks: query.numberOfTicks ?? 1000,
            whatToShow,
            useRTH: query.useRTH ?? true,
            ignoreSize: query.ignoreSize ?? false,
          },
          deadline,
        );
        return { body: { contract, whatToShow, ticks } };
      },
    },
  ];
}
