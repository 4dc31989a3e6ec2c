import { InvalidRequestError } from '@ibrest/common';
import { applyContractDefaults } from '@ibrest/contract';
import type { FieldError, Schema } from '../http/schema.js';
import type { ContractData, Fields, OrderRecord } from '../state/types.js';

export const SEC_TYPES = [
  'STK',
  'OPT',
  'FUT',
  'CASH',
  'BOND',
  'CFD',
  'FOP',
  'WAR',
  'IOPT',
  'FWD',
  'BAG',
  'IND',
  'BILL',
  'FUND',
  'FIXED',
  'SLB',
  'NEWS',
  'CMDTY',
  'BSK',
  'ICU',
  'ICS',
  'CRYPTO',
  'CONTFUT',
] as const;

/** IB's order types (orderType strings as IB spells them). */
export const ORDER_TYPES = [
  'MKT',
  'LMT',
  'STP',
  'STP LMT',
  'MOC',
  'LOC',
  'MIT',
  'LIT',
  'TRAIL',
  'TRAIL LIMIT',
  'REL',
  'MTL',
  'MKT PRT',
  'PEG MKT',
  'PEG MID',
  'PEG BENCH',
  'PEG STK',
  'MIDPRICE',
  'PASSV REL',
  'BOX TOP',
  'VWAP',
  'AUC',
  'MOO',
  'LOO',
] as const;

const name = (description: string, maxLength = 32): Schema => ({
  type: 'string',
  minLength: 1,
  maxLength,
  description,
});

export const CONTRACT_PROPERTIES: Record<string, Schema> = {
  conId: { type: 'integer', minimum: 1, maximum: 2147483647, description: "IB's contract id" },
  symbol: name('Underlying symbol'),
  secType: { type: 'string', enum: SEC_TYPES, description: 'Security type' },
  lastTradeDateOrContractMonth: {
    type: 'string',
    pattern: '^\\d{6}(\\d{2})?$',
    description: 'YYYYMM or YYYYMMDD (options, futures)',
  },
  strike: { type: 'number', exclusiveMinimum: 0, maximum: 10_000_000, description: 'Option strike' },
  right: { type: 'string', enum: ['C', 'P', 'CALL', 'PUT'], description: 'Option right' },
  multiplier: { type: 'string', pattern: '^\\d+(\\.\\d+)?$', description: 'Contract multiplier' },
  exchange: name('Destination exchange (SMART for smart routing)'),
  primaryExch: name('Primary listing exchange'),
  currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO currency' },
  localSymbol: name('Local exchange symbol'),
  tradingClass: name('Trading class'),
};

export const CONTRACT_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'IB contract (field names as IB/@stoqey/ib use them)',
  properties: CONTRACT_PROPERTIES,
};

export const ORDER_PROPERTIES: Record<string, Schema> = {
  action: { type: 'string', enum: ['BUY', 'SELL', 'SSHORT'] },
  totalQuantity: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 },
  orderType: { type: 'string', enum: ORDER_TYPES },
  lmtPrice: {
    type: 'number',
    minimum: -1e9,
    maximum: 1e9,
    description: 'Limit price (LMT, STP LMT, LIT, LOC, TRAIL LIMIT)',
  },
  auxPrice: {
    type: 'number',
    minimum: -1e9,
    maximum: 1e9,
    description: 'Stop / trigger / trailing amount (STP, STP LMT, MIT, LIT, TRAIL)',
  },
  tif: { type: 'string', enum: ['DAY', 'GTC', 'IOC', 'GTD', 'OPG', 'FOK', 'DTC'] },
  ocaGroup: name('One-cancels-all group name', 64),
  ocaType: { type: 'integer', minimum: 1, maximum: 3 },
  account: name('Account (for multi-account logins)'),
  orderRef: { type: 'string', maxLength: 128 },
  transmit: { type: 'boolean' },
  parentId: { type: 'integer', minimum: 0, maximum: 2147483647 },
  outsideRth: { type: 'boolean' },
  trailStopPrice: { type: 'number', minimum: 0, maximum: 1e9 },
  trailingPercent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
  goodTillDate: { type: 'string', maxLength: 32 },
  goodAfterTime: { type: 'string', maxLength: 32 },
  hidden: { type: 'boolean' },
  displaySize: { type: 'integer', minimum: 0, maximum: 1e9 },
  allOrNone: { type: 'boolean' },
  minQty: { type: 'integer', minimum: 1, maximum: 1e9 },
};

export const ORDER_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'totalQuantity', 'orderType'],
  properties: ORDER_PROPERTIES,
};

export const ORDER_LEG_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['contract', 'order'],
  properties: { contract: CONTRACT_SCHEMA, order: ORDER_SCHEMA },
};

export const ORDER_JSON_SCHEMA: Schema = {
  type: 'object',
  required: ['orderId', 'status', 'filled', 'remaining', 'avgFillPrice', 'history'],
  properties: {
    orderId: { type: 'integer' },
    permId: { type: 'integer' },
    acknowledged: {
      type: 'boolean',
      description: 'IB reported this order (openOrder / orderStatus / an execution); false: only sent so far',
    },
    clientId: { type: 'integer' },
    parentId: { type: 'integer' },
    status: {
      type: 'string',
      description:
        "IB's status name: PendingSubmit, PreSubmitted, Submitted, Filled, Cancelled, ApiCancelled, Inactive…",
    },
    filled: { type: 'number' },
    remaining: { type: 'number' },
    avgFillPrice: { type: 'number' },
    lastFillPrice: { type: 'number' },
    whyHeld: { type: 'string' },
    contract: { type: 'object' },
    order: { type: 'object' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          filled: { type: 'number' },
          remaining: { type: 'number' },
          avgFillPrice: { type: 'number' },
          at: { type: 'string' },
        },
      },
    },
    fills: { type: 'array', items: { type: 'object' } },
    errors: { type: 'array', items: { type: 'object' } },
    updatedAt: { type: 'string' },
  },
};

export function orderJson(r: OrderRecord) {
  return {
    orderId: r.orderId,
    permId: r.permId,
    clientId: r.clientId,
    acknowledged: r.acknowledged,
    parentId: r.parentId,
    status: r.status,
    filled: r.filled,
    remaining: r.remaining,
    avgFillPrice: r.avgFillPrice,
    lastFillPrice: r.lastFillPrice,
    whyHeld: r.whyHeld,
    contract: r.contract,
    order: r.order,
    history: r.history,
    fills: r.fills,
    errors: r.errors,
    updatedAt: r.updatedAt,
  };
}

/**
 * Rules JSON Schema cannot say: which contract fields identify an instrument, which order fields each
 * order type needs. Reported like schema errors (400, every problem listed).
 */
/**
 * Fields missing for IB to resolve one contract. With `partial` (contract discovery, reqContractDetails)
 * a future may omit its expiry and an option its expiry, strike and right: IB then lists every match.
 */
export function contractProblems(c: ContractData, path: string, forOrder: boolean, partial = false): FieldError[] {
  const out: FieldError[] = [];
  const need = (k: string, why: string) => {
    if (c[k] === undefined) out.push({ field: `${path}.${k}`, message: `is required ${why}` });
  };
  if (c.conId === undefined) {
    need('symbol', 'unless conId is given');
    need('secType', 'unless conId is given');
  }
  if (forOrder) need('exchange', 'to route an order');
  if (partial) return out;
  if (c.conId === undefined && (c.secType === 'OPT' || c.secType === 'FOP')) {
    need('lastTradeDateOrContractMonth', 'for options');
    need('strike', 'for options');
    need('right', 'for options');
  }
  if (c.conId === undefined && c.secType === 'FUT') need('lastTradeDateOrContractMonth', 'for futures');
  return out;
}

export function orderProblems(o: Fields, path: string): FieldError[] {
  const out: FieldError[] = [];
  const type = o.orderType as string | undefined;
  const need = (k: string) => {
    if (o[k] === undefined) out.push({ field: `${path}.${k}`, message: `is required for orderType ${type}` });
  };
  if (type !== undefined && ['LMT', 'STP LMT', 'LIT', 'LOC', 'TRAIL LIMIT', 'LOO'].includes(type)) need('lmtPrice');
  if (type !== undefined && ['STP', 'STP LMT', 'MIT', 'LIT'].includes(type)) need('auxPrice');
  if (type === 'TRAIL' && o.auxPrice === undefined && o.trailingPercent === undefined) {
    out.push({ field: `${path}.auxPrice`, message: 'or trailingPercent is required for orderType TRAIL' });
  }
  if (o.tif === 'GTD' && o.goodTillDate === undefined)
    out.push({ field: `${path}.goodTillDate`, message: 'is required for tif GTD' });
  return out;
}

export function assertNoProblems(problems: FieldError[]): void {
  if (problems.length > 0) {
    throw new InvalidRequestError(`Invalid request: ${problems.map((e) => `${e.field} ${e.message}`).join('; ')}`, {
      fields: problems,
    });
  }
}

/** Contract fields taken from a query string (GET routes), with the defaults documented in the README. */
export function contractFromQuery(q: Record<string, unknown>): ContractData {
  const c: ContractData = {};
  for (const k of Object.keys(CONTRACT_PROPERTIES)) if (q[k] !== undefined) c[k] = q[k];
  return applyContractDefaults(c);
}
