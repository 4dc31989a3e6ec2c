import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { ContractNotFoundError } from '../errors.js';
import type { RouteDeps } from './deps.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery, contractProblems } from './schemas.js';

export const CONTRACT_QUERY: Schema = { type: 'object', additionalProperties: false, properties: CONTRACT_PROPERTIES };

/** Order of a listing: expiry, strike, right, then conId (a chain reads in order; pages do not shift). */
function byChain(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ca = (a.contract ?? {}) as Record<string, string | number | undefined>;
  const cb = (b.contract ?? {}) as Record<string, string | number | undefined>;
  const text = (v: unknown) => String(v ?? '');
  return (
    text(ca.secType).localeCompare(text(cb.secType)) ||
    text(ca.lastTradeDateOrContractMonth).localeCompare(text(cb.lastTradeDateOrContractMonth)) ||
    Number(ca.strike ?? 0) - Number(cb.strike ?? 0) ||
    text(ca.right).localeCompare(text(cb.right)) ||
    Number(ca.conId ?? 0) - Number(cb.conId ?? 0)
  );
}

export function contractRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/contract',
      operationId: 'getContractDetails',
      summary:
        'Contract details by conId or symbol/secType/exchange/currency (reqContractDetails); ' +
        'partial contracts list every match',
      description:
        'With a symbol and no secType, STK on SMART in USD is assumed. ' +
        'A partial contract lists every match, as IB does: ' +
        'a future without expiry gives its chain, an option with an expiry and no strike the strikes of that expiry. ' +
        'Matches are ordered by expiry, strike and right and paged with `offset` / `limit` ' +
        '(`total` says how many matched).',
      tag: 'contracts',
      usesIb: true,
      query: {
        ...CONTRACT_QUERY,
        properties: {
          ...CONTRACT_PROPERTIES,
          limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Matches per page (default 100)' },
          offset: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Matches to skip (default 0)' },
        },
      },
      response: {
        type: 'object',
        properties: {
          contracts: { type: 'array', items: { type: 'object' } },
          total: { type: 'integer', description: 'Matches in all' },
          offset: { type: 'integer' },
          limit: { type: 'integer' },
          nextOffset: { type: 'integer', description: 'Offset of the next page (absent on the last page)' },
        },
      },
      errors: { 404: ['CONTRACT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const { limit: l, offset: o, ...fields } = query;
        const contract = contractFromQuery(fields);
        assertNoProblems(contractProblems(contract, 'query', false, true));
        const details = await deps.contracts.getDetails(contract, deadline);
        if (details.length === 0) throw new ContractNotFoundError('No contract matches', { contract });
        const limit = (l as number | undefined) ?? 100;
        const offset = (o as number | undefined) ?? 0;
        const sorted = [...details].sort(byChain);
        const page = sorted.slice(offset, offset + limit);
        const next = offset + limit < sorted.length ? { nextOffset: offset + limit } : {};
        return { body: { contracts: page, total: sorted.length, offset, limit, ...next } };
      },
    },
    {
      method: 'get',
      path: '/contract/search',
      operationId: 'searchContracts',
      summary: 'Contracts whose symbol or name matches a pattern (reqMatchingSymbols)',
      tag: 'contracts',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        required: ['pattern'],
        properties: { pattern: { type: 'string', minLength: 1, maxLength: 64, description: 'Symbol or name prefix' } },
      },
      response: { type: 'object', properties: { contracts: { type: 'array', items: { type: 'object' } } } },
      errors: { 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => ({
        body: { contracts: await deps.contracts.search(query.pattern, deadline) },
      }),
    },
    {
      method: 'get',
      path: '/contract/options',
      operationId: 'getOptionChains',
      summary: 'Option chain parameters (expirations, strikes) of an underlying (reqSecDefOptParams)',
      description: 'Without conId the underlying is looked up first (one contract-details request).',
      tag: 'contracts',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          symbol: CONTRACT_PROPERTIES.symbol!,
          secType: { type: 'string', enum: ['STK', 'IND', 'FUT'], description: 'Underlying type (default STK)' },
          conId: CONTRACT_PROPERTIES.conId!,
          exchange: CONTRACT_PROPERTIES.exchange!,
          currency: CONTRACT_PROPERTIES.currency!,
          futFopExchange: {
            type: 'string',
            maxLength: 32,
            description: 'For futures options: the exchange (default all)',
          },
        },
      },
      response: {
        type: 'object',
        properties: { underlying: { type: 'object' }, chains: { type: 'array', items: { type: 'object' } } },
      },
      errors: { 404: ['CONTRACT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const secType = (query.secType as string | undefined) ?? 'STK';
        let { conId, symbol } = query as { conId?: number; symbol?: string };
        if (conId === undefined || symbol === undefined) {
          const contract = contractFromQuery({ ...query, secType });
          assertNoProblems(contractProblems(contract, 'query', false));
          const details = await deps.contracts.getDetails(contract, deadline);
          const first = details[0]?.contract as { conId?: number; symbol?: string } | undefined;
          if (first?.conId === undefined) throw new ContractNotFoundError('No underlying matches', { contract });
          conId = first.conId;
          symbol = first.symbol ?? symbol ?? '';
        }
        const chains = await deps.contracts.optionChains(
          { symbol, secType, conId, futFopExchange: query.futFopExchange },
          deadline,
        );
        return { body: { underlying: { conId, symbol, secType }, chains } };
      },
    },
  ];
}
