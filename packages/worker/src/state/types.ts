/**
 * Plain shapes of what the mirror keeps. Field names are IB's (as @stoqey/ib names them), so JSON
 * answers read like IB's own API. The mirror never sees a socket or an HTTP request.
 */
export type Fields = Record<string, unknown>;

export interface ContractData extends Fields {
  conId?: number;
  symbol?: string;
  secType?: string;
  exchange?: string;
  currency?: string;
}

export interface StatusEntry {
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  /** ISO time the worker saw this status. */
  at: string;
}

export interface Fill {
  execId: string;
  time?: string;
  side?: string;
  shares?: number;
  price?: number;
  cumQty?: number;
  avgPrice?: number;
  exchange?: string;
  commission?: number;
  commissionCurrency?: string;
  realizedPNL?: number;
}

export interface OrderRecord {
  orderId: number;
  /**
   * True once IB said anything about this order (openOrder, orderStatus, an execution). A record the
   * worker registered before sending stays false until then: our own bookkeeping is no evidence.
   */
  acknowledged: boolean;
  /** How many openOrder / orderStatus / execution messages IB sent about it (a modify waits for a new one). */
  ibMessages: number;
  permId?: number;
  clientId?: number;
  parentId?: number;
  contract: ContractData;
  order: Fields;
  orderState?: Fields;
  /** IB's exact status name (PendingSubmit, PreSubmitted, Submitted, Filled, Cancelled, Inactive, …). */
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  lastFillPrice?: number;
  whyHeld?: string;
  history: StatusEntry[];
  fills: Fill[];
  /** IB errors reported for this order (rejections, warnings), oldest first. */
  errors: { code: number; message: string; at: string }[];
  updatedAt: string;
}

export interface Position {
  account: string;
  contract: ContractData;
  pos: number;
  avgCost?: number;
}

export interface PortfolioItem {
  account: string;
  contract: ContractData;
  position: number;
  marketPrice?: number;
  marketValue?: number;
  averageCost?: number;
  unrealizedPNL?: number;
  realizedPNL?: number;
}

export interface ExecutionData extends Fields {
  execId: string;
  orderId?: number;
  permId?: number;
  clientId?: number;
  time?: string;
  acctNumber?: string;
  side?: string;
  shares?: number;
  price?: number;
}

export interface CommissionData extends Fields {
  execId: string;
  commission?: number;
  currency?: string;
  realizedPNL?: number;
}

/** Everything that changes the mirror. Sources (the IB sync) report these; only the mirror applies them. */
export type MirrorEvent =
  | { type: 'openOrder'; orderId: number; contract: ContractData; order: Fields; orderState: Fields }
  | {
      type: 'orderStatus';
      orderId: number;
      status: string;
      filled: number;
      remaining: number;
      avgFillPrice: number;
      permId?: number;
      parentId?: number;
      lastFillPrice?: number;
      clientId?: number;
      whyHeld?: string;
    }
  | { type: 'orderError'; orderId: number; code: number; message: string }
  | { type: 'execution'; contract: ContractData; execution: ExecutionData }
  | { type: 'commission'; report: CommissionData }
  | { type: 'positionsBegin' }
  | { type: 'position'; account: string; contract: ContractData; pos: number; avgCost?: number }
  | { type: 'positionsEnd' }
  | { type: 'accountValue'; account: string; key: string; value: string; currency: string }
  | { type: 'portfolio'; item: PortfolioItem }
  | { type: 'accountTime'; time: string }
  | { type: 'accountDownloadEnd'; account: string };

/** What the order store tells its listeners (the order-event stream). */
export interface OrderEvent {
  type: 'status' | 'open' | 'fill' | 'commission' | 'error';
  orderId: number;
  permId?: number;
  clientId?: number;
  status: string;
  /** The fill or error this event is about, if any. */
  fill?: Fill;
  error?: { code: number; message: string };
  at: string;
}
