import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { ContractNotFoundError } from '../errors.js';
import type { RouteDeps } from './deps.js';
import { assertNoProblems, CONTRACT_PROPERTIES, contractFromQuery, contractProblems } from './schemas.js';

export const CONTRACT_QUERY: Schema = { type: 'object', additionalProperties: false, properties: CONTRACT_PROPERTIES };

export function contractRoutes(deps: RouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/contract',
      operationId: 'getContractDetails',
      summary: 'Contract details by conId or symbol/secType/exchange/currency (reqContractDetails)',
      description: 'With a symbol and no secType, STK on SMART in USD is assumed.',
      tag: 'contracts',
      usesIb: true,
      query: CONTRACT_QUERY,
      response: { type: 'object', properties: { contracts: { type: 'array', items: { type: 'object' } } } },
      errors: { 404: ['CONTRACT_NOT_FOUND'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ query, deadline }) => {
        const contract = contractFromQuery(query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const details = await deps.contracts.getDetails(contract, deadline);
        if (details.length === 0) throw new ContractNotFoundError('No contract matches', { contract });
        return { body: { contracts: details } };
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
      handle: async ({ query, deadline }) => ({ body: { contracts: await deps.contracts.search(query.pattern, deadline) } }),
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
          futFopExchange: { type: 'string', maxLength: 32, description: 'For futures options: the exchange (default all)' },
        },
      },
      response: { type: 'object', properties: { underlying: { type: 'object' }, chains: { type: 'array', items: { type: 'object' } } } },
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
        const chains = await deps.contracts.optionChains({ symbol, secType, conId, futFopExchange: query.futFopExchange }, deadline);
        return { body: { underlying: { conId, symbol, secType }, chains } };
      },
    },
  ];
}
