import type { ContractDef } from './catalogue.js';

/** IB's order status names, exactly as ORDER_STATUS carries them. */
export type OrderStatus =
  | 'PendingSubmit'
  | 'PendingCancel'
  | 'PreSubmitted'
  | 'Submitted'
  | 'ApiCancelled'
  | 'Cancelled'
  | 'Filled'
  | 'Inactive';

export const DONE_STATUSES: ReadonlySet<OrderStatus> = new Set(['Cancelled', 'ApiCancelled', 'Filled', 'Inactive']);

/** What a PLACE_ORDER asks for (decoded; contract still unresolved). */
export interface OrderRequest {
  orderId: number;
  action: string;
  totalQuantity: number;
  orderType: string;
  lmtPrice?: number;
  auxPrice?: number;
  tif: string;
  ocaGroup: string;
  /** 1 cancel others with block, 2 reduce with block, 3 reduce without block (IB's ocaType). */
  ocaType: number;
  account: string;
  orderRef: string;
  transmit: boolean;
  parentId: number;
  outsideRth: boolean;
}

export interface Execution {
  execId: string;
  orderId: number;
  clientId: number;
  permId: number;
  account: string;
  contract: ContractDef;
  side: 'BOT' | 'SLD';
  shares: number;
  price: number;
  cumQty: number;
  avgPrice: number;
  /** Epoch ms. */
  time: number;
  exchange: string;
  orderRef: string;
  commission: number;
  realizedPnl?: number;
}

/** One order as the simulated broker holds it. Key: (clientId, orderId); permId is unique across all. */
export interface SimOrder extends OrderRequest {
  clientId: number;
  permId: number;
  contract: ContractDef;
  status: OrderStatus;
  filled: number;
  avgFillPrice: number;
  lastFillPrice: number;
  /** Stop orders become live orders once their trigger price trades. */
  triggered: boolean;
  /** False while a bracket/OCA group waits for its last order with transmit=true. */
  transmitted: boolean;
  whyHeld: string;
  history: Array<{ status: OrderStatus; time: number }>;
  createdAt: number;
  completedAt?: number;
  /** Why it ended, for COMPLETED_ORDER's completedStatus. */
  completedReason?: string;
}

export const remaining = (o: SimOrder): number => Math.max(0, o.totalQuantity - o.filled);
export const isDone = (o: SimOrder): boolean => DONE_STATUSES.has(o.status);
