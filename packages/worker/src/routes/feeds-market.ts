import { InvalidRequestError } from '@ibrest/common';
import { marketDataItems, MAX_STREAM_CONTRACTS } from '@ibrest/contract';
import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import {
  barsSource,
  depthSource,
  MARKET_DATA_TYPES,
  marketDataSource,
  type MarketDataTypeName,
} from '../ib/feed-sources.js';
import type { ContractData } from '../state/types.js';
import type { RouteDeps } from './deps.js';
import { answerFeed, FEED_DESCRIPTION, FEED_PRODUCES, latest, withFormat } from './feeds-common.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery, contractProblems } from './schemas.js';

export { MAX_STREAM_CONTRACTS } from '@ibrest/contract';

const LIST = (what: string, item: string): Schema => ({
  type: 'string',
  pattern: `^${item}(,${item}){0,${MAX_STREAM_CONTRACTS - 1}}$`,
  description: what,
});

const MARKET_DATA_QUERY = withFormat({
  ...CONTRACT_PROPERTIES,
  symbols: LIST(
    `Several symbols, comma-separated (at most ${MAX_STREAM_CONTRACTS}); the other contract fields apply to each`,
    '[A-Za-z0-9. /-]{1,32}',
  ),
  conIds: LIST(`Several conIds, comma-separated (at most ${MAX_STREAM_CONTRACTS})`, '[1-9][0-9]{0,9}'),
  genericTickList: {
    type: 'string',
    pattern: '^(\\d{1,4}(,\\d{1,4})*)?$',
    description: 'Generic tick types, e.g. "233,236" (default none)',
  },
  marketDataType: {
    type: 'string',
    enum: Object.keys(MARKET_DATA_TYPES),
    description: 'live (default), frozen, delayed or delayed-frozen',
  },
});

/**
 * One contract (contract fields) or several (`symbols` / `conIds` with the other fields as template), split
 * by the parser the proxy counts market-data lines with (@ibrest/contract `marketDataItems`).
 */
export function contractsFromQuery(q: Record<string, any>): ContractData[] {
  const template = contractFromQuery(q);
  const { form, items } = marketDataItems(q);
  let contracts: ContractData[];
  if (form === 'symbols') {
    const { symbol: _s, conId: _c, ...rest } = template;
    contracts = items.map((symbol) => contractFromQuery({ ...rest, symbol }));
  } else if (form === 'conIds') {
    contracts = items.map((id) => ({ conId: Number(id), exchange: template.exchange ?? 'SMART' }));
  } else {
    contracts = [template.conId !== undefined ? { ...template, exchange: template.exchange ?? 'SMART' } : template];
  }
  if (typeof q.symbols === 'string' && typeof q.conIds === 'string')
    throw new InvalidRequestError('Invalid request: give symbols or conIds, not both', {
      fields: [{ field: 'query.conIds', message: 'cannot be combined with symbols' }],
    });
  contracts.forEach((c, i) =>
    assertNoProblems(contractProblems(c, contracts.length > 1 ? `query[${i}]` : 'query', false)),
  );
  // The same contract twice would be the same subscription twice.
  return [...new Map(contracts.map((c) => [JSON.stringify(Object.entries(c).sort()), c])).values()];
}

function singleContract(q: Record<string, any>): ContractData {
  const c = contractFromQuery(q);
  assertNoProblems(contractProblems(c, 'query', false));
  return c.conId !== undefined ? { ...c, exchange: c.exchange ?? 'SMART' } : c;
}

const feedErrors = (extra: Partial<Record<number, string[]>> = {}): Partial<Record<number, string[]>> => ({
  404: ['CONTRACT_NOT_FOUND', 'NO_DATA'],
  429: ['PACING_LIMIT', 'MARKET_DATA_LINES_EXHAUSTED'],
  504: ['DEADLINE_EXCEEDED'],
  ...extra,
});

export function marketFeedRoutes(deps: RouteDeps): RouteDef[] {
  const d = deps.feeds;
  return [
    {
      method: 'get',
      path: '/market/data',
      operationId: 'getMarketData',
      summary:
        'Market data: a snapshot (default), or streaming ticks of one or more contracts shared by every caller ' +
        '(one IB line per contract)',
      description:
        `${FEED_DESCRIPTION} Streams send \`tick\` events \`{conId|symbol, field, tickType, value}\`; ` +
        'a joining or resuming caller first gets the current value of every field.',
      tag: 'feeds',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: MARKET_DATA_QUERY },
      response: {
        type: 'object',
        properties: {
          contract: { type: 'object' },
          ticks: { type: 'object', description: 'By tick name (BID, ASK, LAST, …)' },
          raw: { type: 'object' },
          receivedAt: { type: 'string' },
          snapshots: {
            type: 'array',
            items: { type: 'object' },
            description: 'With symbols/conIds: one snapshot per contract',
          },
        },
      },
      produces: FEED_PRODUCES,
      errors: feedErrors(),
      handle: async (ctx) => {
        const contracts = contractsFromQuery(ctx.query);
        const dataType = (ctx.query.marketDataType ?? 'live') as MarketDataTypeName;
        const generic: string = ctx.query.genericTickList ?? '';
        const sources = contracts.map((c) => marketDataSource(c, generic, dataType));
        const title = `market data ${contracts.map((c) => c.symbol ?? c.conId).join(',')}`;
        return answerFeed(d, ctx, '/market/data', { kind: 'market_data', sources, title }, async () => {
          if (contracts.length === 1 && dataType === 'live') {
            const snap = await deps.marketData.snapshot(contracts[0]!, generic, ctx.deadline);
            return { body: { contract: contracts[0], ...snap } };
          }
          if (dataType === 'live') {
            const snapshots = await Promise.all(
              contracts.map(async (contract) => ({
                contract,
                ...(await deps.marketData.snapshot(contract, generic, ctx.deadline)),
              })),
            );
            return { body: { snapshots } };
          }
          // Other data types are a setting of the connection: served from a (shared) stream's current state.
          const events = await latest(d, ctx, { kind: 'market_data', sources, title }, 'market_data');
          const snapshots = contracts.map((contract) => {
            const ticks: Record<string, unknown> = {};
            for (const e of events) {
              const t = e.data as { conId?: number; symbol?: string; field: string; value: unknown };
              if (
                (contract.conId !== undefined && t.conId === contract.conId) ||
                (contract.conId === undefined && t.symbol === contract.symbol)
              )
                ticks[t.field] = t.value;
            }
            return { contract, ticks, receivedAt: new Date().toISOString() };
          });
          return { body: snapshots.length === 1 ? snapshots[0] : { snapshots } };
        });
      },
    },
    {
      method: 'get',
      path: '/market/depth',
      operationId: 'getMarketDepth',
      summary:
        'Level-2 order book (reqMktDepth): one-shot book, or a stream of `book` events shared by every caller ' +
        '(one IB depth book)',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: withFormat({
          ...CONTRACT_PROPERTIES,
          numRows: { type: 'integer', minimum: 1, maximum: 50, description: 'Rows per side (default 10)' },
          isSmartDepth: {
            type: 'boolean',
            description:
              'Aggregate the depth of all exchanges (SMART depth); ' +
              'default true when the exchange is SMART (IB offers no plain SMART book), else false',
          },
        }),
      },
      response: {
        type: 'object',
        properties: {
          contract: { type: 'object' },
          bids: { type: 'array', items: { type: 'object' } },
          asks: { type: 'array', items: { type: 'object' } },
          isSmartDepth: { type: 'boolean' },
        },
      },
      produces: FEED_PRODUCES,
      errors: feedErrors({ 429: ['PACING_LIMIT', 'MARKET_DEPTH_BOOKS_EXHAUSTED'] }),
      handle: async (ctx) => {
        const contract = singleContract(ctx.query);
        const f = {
          kind: 'market_depth' as const,
          sources: [
            depthSource(contract, ctx.query.numRows ?? 10, ctx.query.isSmartDepth ?? contract.exchange === 'SMART'),
          ],
          title: `market depth ${contract.symbol ?? contract.conId}`,
        };
        return answerFeed(d, ctx, '/market/depth', f, async () => {
          const [book] = await latest(d, ctx, f, 'market_depth');
          const { bids, asks, isSmartDepth, rows, complete, crossed } = book!.data as Record<string, unknown>;
          return {
            body: {
              contract,
              bids,
              asks,
              isSmartDepth,
              rows,
              complete,
              partial: complete !== true,
              crossed,
              receivedAt: new Date(book!.at).toISOString(),
            },
          };
        });
      },
    },
    {
      method: 'get',
      path: '/market/depth/exchanges',
      operationId: 'getMarketDepthExchanges',
      summary: 'Exchanges offering market depth (reqMktDepthExchanges)',
      tag: 'feeds',
      usesIb: true,
      response: { type: 'object', properties: { exchanges: { type: 'array', items: { type: 'object' } } } },
      errors: { 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ deadline }) => ({ body: { exchanges: await d.ib.depthExchanges(deadline) } }),
    },
    {
      method: 'get',
      path: '/bars',
      operationId: 'getRealTimeBars',
      summary:
        "IB's real-time 5-second bars (reqRealTimeBars): the next bar, " +
        'or a stream of `bar` events shared by every caller',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: withFormat({
          ...CONTRACT_PROPERTIES,
          whatToShow: {
            type: 'string',
            enum: ['TRADES', 'MIDPOINT', 'BID', 'ASK'],
            description: 'Data type (default TRADES)',
          },
          useRTH: { type: 'boolean', description: 'Regular trading hours only (default false)' },
        }),
      },
      response: { type: 'object', properties: { contract: { type: 'object' }, bar: { type: 'object' } } },
      produces: FEED_PRODUCES,
      errors: feedErrors(),
      handle: async (ctx) => {
        const contract = singleContract(ctx.query);
        const whatToShow: string = ctx.query.whatToShow ?? 'TRADES';
        const f = {
          kind: 'bars' as const,
          sources: [barsSource(contract, whatToShow, ctx.query.useRTH ?? false)],
          title: `real-time bars ${contract.symbol ?? contract.conId}`,
          firstEventWaitMs: 0,
        };
        return answerFeed(d, ctx, '/bars', f, async () => {
          const [bar] = await latest(d, ctx, { ...f, firstEventWaitMs: undefined }, 'bars');
          return { body: { contract, bar: bar!.data } };
        });
      },
    },
  ];
}
