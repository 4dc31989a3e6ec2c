import { EventName, type Contract, type ContractDescription, type ContractDetails, type SecType } from '@stoqey/ib';
import type { WorkerMetrics } from '../metrics.js';
import type { ContractData, Fields } from '../state/types.js';
import { Coalescer } from './coalescer.js';
import type { Deadline } from './deadline.js';
import type { Requests } from './requests.js';
import { plain } from './sync.js';

export interface OptionChain {
  exchange: string;
  underlyingConId: number;
  tradingClass: string;
  multiplier: string;
  expirations: string[];
  strikes: number[];
}

/** How long a listing of several contracts (a chain, the strikes of an expiry) is served again for its next pages. */
const LISTING_CACHE_MS = 60_000;

/** Contract details, symbol search and option-chain parameters (one-shot IB requests). */
export class ContractService {
  /** In-flight sharing; listings of several matches are also kept a while, so their pages come from one answer. */
  private readonly details = new Coalescer<Fields[]>(0, () =>
    this.metrics?.coalesced.inc({ kind: 'contract_details' }),
  );
  private readonly listings = new Map<string, { at: number; details: Fields[] }>();

  constructor(
    private readonly requests: Requests,
    private readonly metrics?: WorkerMetrics,
  ) {}

  /** reqContractDetails; identical requests in flight share one IB request. */
  async getDetails(contract: ContractData, d: Deadline): Promise<Fields[]> {
    const key = JSON.stringify(Object.entries(contract).sort(([a], [b]) => a.localeCompare(b)));
    const kept = this.listings.get(key);
    if (kept !== undefined && Date.now() - kept.at < LISTING_CACHE_MS) return kept.details;
    const details = await this.fetchDetails(key, contract, d);
    if (details.length > 1) {
      if (this.listings.size >= 100) this.listings.delete(this.listings.keys().next().value as string);
      this.listings.set(key, { at: Date.now(), details });
    }
    return details;
  }

  private fetchDetails(key: string, contract: ContractData, d: Deadline): Promise<Fields[]> {
    return this.details.run(key, () => {
      const out: Fields[] = [];
      return this.requests.run<Fields[]>({
        operation: 'contract_details',
        ...d,
        send: (api, reqId) => api.reqContractDetails(reqId, contract as Contract),
        onEvent: (name, args, done) => {
          if (name === EventName.contractDetails || name === EventName.bondContractDetails) {
            const cd = args[0] as ContractDetails;
            out.push({ ...plain(cd), contract: plain(cd.contract) });
          } else if (name === EventName.contractDetailsEnd) done(out);
        },
        partial: () => ({ received: out.length }),
      });
    });
  }

  /** reqMatchingSymbols. */
  search(pattern: string, d: Deadline): Promise<Fields[]> {
    return this.requests.run<Fields[]>({
      operation: 'contract_search',
      ...d,
      send: (api, reqId) => api.reqMatchingSymbols(reqId, pattern),
      onEvent: (name, args, done) => {
        if (name !== EventName.symbolSamples) return;
        const list = (args[0] as ContractDescription[] | undefined) ?? [];
        done(list.map((c) => ({ contract: plain(c.contract), derivativeSecTypes: c.derivativeSecTypes ?? [] })));
      },
    });
  }

  /** reqSecDefOptParams for an underlying (conId required by IB). */
  optionChains(
    q: { symbol: string; secType: string; conId: number; futFopExchange?: string },
    d: Deadline,
  ): Promise<OptionChain[]> {
    const out: OptionChain[] = [];
    return this.requests.run<OptionChain[]>({
      operation: 'option_chain',
      ...d,
      send: (api, reqId) =>
        api.reqSecDefOptParams(reqId, q.symbol, q.futFopExchange ?? '', q.secType as SecType, q.conId),
      onEvent: (name, args, done) => {
        if (name === EventName.securityDefinitionOptionParameter) {
          const [exchange, underlyingConId, tradingClass, multiplier, expirations, strikes] = args as [
            string,
            number,
            string,
            string,
            string[],
            number[],
          ];
          out.push({
            exchange,
            underlyingConId,
            tradingClass,
            multiplier,
            expirations: [...(expirations ?? [])],
            strikes: [...(strikes ?? [])],
          });
        } else if (name === EventName.securityDefinitionOptionParameterEnd) done(out);
      },
      partial: () => ({ received: out.length }),
    });
  }
}
