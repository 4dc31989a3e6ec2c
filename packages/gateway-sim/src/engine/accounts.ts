import type { Catalogue, ContractDef } from './catalogue.js';
import { addMargins, positionMargin, type Margin } from './margin.js';
import type { Market } from './market.js';

export interface PositionSeed {
  /** Stock symbol or conId. */
  symbol?: string;
  conId?: number;
  quantity: number;
  /** Average price per unit (multiplier is applied for derivatives). */
  avgPrice: number;
}

export interface AccountSeed {
  id: string;
  cash: number;
  positions?: PositionSeed[];
}

export const DEFAULT_ACCOUNTS: AccountSeed[] = [
  { id: 'DU1234567', cash: 100_000, positions: [{ symbol: 'AAPL', quantity: 100, avgPrice: 150 }] },
];

export interface Position {
  contract: ContractDef;
  quantity: number;
  /** Per-unit cost including the multiplier, as IB reports avgCost. */
  avgCost: number;
  realizedPnl: number;
}

export interface Account {
  id: string;
  cash: number;
  /** NetLiquidation at the start of the day: daily PnL is measured against it. */
  startOfDayNetLiq: number;
  realizedPnl: number;
  /** conId → position (kept at quantity 0 after a close, like IB keeps the row for the day). */
  positions: Map<number, Position>;
}

export function multiplierOf(c: ContractDef): number {
  const m = Number(c.multiplier);
  return Number.isFinite(m) && m > 0 ? m : 1;
}

/** IB-like tiered commission, simplified: per share for stocks, per contract for derivatives. */
export function commissionFor(c: ContractDef, quantity: number, price: number): number {
  const q = Math.abs(quantity);
  switch (c.secType) {
    case 'STK':
      return Number(Math.min(Math.max(1, 0.005 * q), 0.01 * q * price).toFixed(2)) || 1;
    case 'OPT':
      return Number(Math.max(1, 0.65 * q).toFixed(2));
    case 'FUT':
      return Number((0.85 * q).toFixed(2));
    case 'CASH':
      return Number(Math.max(2, 0.00002 * q * price).toFixed(2));
  }
}

/** Cash, positions and the derived account values, per account. */
export class Accounts {
  readonly byId = new Map<string, Account>();

  constructor(
    seeds: readonly AccountSeed[],
    private readonly catalogue: Catalogue,
    private readonly market: Market,
  ) {
    for (const s of seeds) {
      const acct: Account = { id: s.id, cash: s.cash, startOfDayNetLiq: 0, realizedPnl: 0, positions: new Map() };
      for (const p of s.positions ?? []) {
        const c = p.conId !== undefined ? catalogue.byConId(p.conId) : catalogue.bySymbol(p.symbol ?? '');
        if (!c) throw new Error(`account ${s.id}: unknown position contract ${p.symbol ?? p.conId}`);
        acct.positions.set(c.conId, { contract: c, quantity: p.quantity, avgCost: p.avgPrice * multiplierOf(c), realizedPnl: 0 });
      }
      this.byId.set(s.id, acct);
      acct.startOfDayNetLiq = this.values(s.id).netLiquidation;
    }
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  get(id: string): Account | undefined {
    return this.byId.get(id);
  }

  /** The account an order without an account field goes to. */
  defaultId(): string {
    return this.ids()[0]!;
  }

  markPrice(c: ContractDef): number {
    return this.market.quote(c.conId)?.last ?? c.basePrice;
  }

  /** Books a fill: cash moves by price × qty × multiplier plus commission; realized PnL on reductions. */
  applyFill(accountId: string, c: ContractDef, signedQty: number, price: number, commission: number): number {
    const acct = this.byId.get(accountId);
    if (!acct) throw new Error(`unknown account ${accountId}`);
    const mult = multiplierOf(c);
    const pos = acct.positions.get(c.conId) ?? { contract: c, quantity: 0, avgCost: 0, realizedPnl: 0 };
    let realized = 0;
    const cost = price * mult;
    if (pos.quantity === 0 || Math.sign(pos.quantity) === Math.sign(signedQty)) {
      const q = pos.quantity + signedQty;
      pos.avgCost = (pos.avgCost * Math.abs(pos.quantity) + cost * Math.abs(signedQty)) / Math.abs(q);
      pos.quantity = q;
    } else {
      const closing = Math.min(Math.abs(signedQty), Math.abs(pos.quantity));
      realized = (cost - pos.avgCost) * closing * Math.sign(pos.quantity);
      const q = pos.quantity + signedQty;
      if (q !== 0 && Math.sign(q) !== Math.sign(pos.quantity)) pos.avgCost = cost;
      if (q === 0) pos.avgCost = 0;
      pos.quantity = q;
    }
    realized -= commission;
    pos.realizedPnl += realized;
    acct.realizedPnl += realized;
    acct.cash -= signedQty * cost + commission;
    acct.positions.set(c.conId, pos);
    return realized;
  }

  /**
   * Margin requirement of the account's positions at current marks; with `extra`, as if that signed
   * quantity were added to the contract's position (what a what-if order asks).
   */
  margin(id: string, extra?: { contract: ContractDef; quantity: number }): Margin {
    const acct = this.byId.get(id);
    if (!acct) throw new Error(`unknown account ${id}`);
    let total: Margin = { init: 0, maint: 0 };
    let extraApplied = false;
    for (const p of acct.positions.values()) {
      let qty = p.quantity;
      if (extra && extra.contract.conId === p.contract.conId) {
        qty += extra.quantity;
        extraApplied = true;
      }
      total = addMargins(total, positionMargin(p.contract, qty, this.markPrice(p.contract), multiplierOf(p.contract)));
    }
    if (extra && !extraApplied) {
      total = addMargins(total, positionMargin(extra.contract, extra.quantity, this.markPrice(extra.contract), multiplierOf(extra.contract)));
    }
    return total;
  }

  /** Current account values, derived from cash and marked positions. */
  values(id: string): AccountValues {
    const acct = this.byId.get(id);
    if (!acct) throw new Error(`unknown account ${id}`);
    let gross = 0;
    let marketValue = 0;
    let unrealized = 0;
    for (const p of acct.positions.values()) {
      const mv = p.quantity * this.markPrice(p.contract) * multiplierOf(p.contract);
      marketValue += mv;
      gross += Math.abs(mv);
      unrealized += mv - p.quantity * p.avgCost;
    }
    const netLiquidation = acct.cash + marketValue;
    const { init: initMargin, maint: maintMargin } = this.margin(id);
    const excess = netLiquidation - maintMargin;
    return {
      netLiquidation,
      totalCash: acct.cash,
      grossPositionValue: gross,
      initMargin,
      maintMargin,
      availableFunds: netLiquidation - initMargin,
      excessLiquidity: excess,
      buyingPower: Math.max(0, (netLiquidation - initMargin) * 4),
      cushion: netLiquidation > 0 ? excess / netLiquidation : 0,
      unrealizedPnl: unrealized,
      realizedPnl: acct.realizedPnl,
      dailyPnl: netLiquidation - acct.startOfDayNetLiq,
    };
  }
}

export interface AccountValues {
  netLiquidation: number;
  totalCash: number;
  grossPositionValue: number;
  initMargin: number;
  maintMargin: number;
  availableFunds: number;
  excessLiquidity: number;
  buyingPower: number;
  cushion: number;
  unrealizedPnl: number;
  realizedPnl: number;
  dailyPnl: number;
}

const money = (n: number): string => n.toFixed(2);

/** IB's account-summary tags with value and currency ("" for non-monetary tags). */
export function summaryTags(accountType: string, v: AccountValues): Array<[tag: string, value: string, currency: string]> {
  return [
    ['AccountType', accountType, ''],
    ['NetLiquidation', money(v.netLiquidation), 'USD'],
    ['TotalCashValue', money(v.totalCash), 'USD'],
    ['SettledCash', money(v.totalCash), 'USD'],
    ['AccruedCash', '0.00', 'USD'],
    ['BuyingPower', money(v.buyingPower), 'USD'],
    ['EquityWithLoanValue', money(v.netLiquidation), 'USD'],
    ['PreviousDayEquityWithLoanValue', money(v.netLiquidation - v.dailyPnl), 'USD'],
    ['GrossPositionValue', money(v.grossPositionValue), 'USD'],
    ['RegTEquity', money(v.netLiquidation), 'USD'],
    ['RegTMargin', money(v.grossPositionValue * 0.5), 'USD'],
    ['SMA', money(Math.max(0, v.netLiquidation - v.grossPositionValue * 0.5)), 'USD'],
    ['InitMarginReq', money(v.initMargin), 'USD'],
    ['MaintMarginReq', money(v.maintMargin), 'USD'],
    ['AvailableFunds', money(v.availableFunds), 'USD'],
    ['ExcessLiquidity', money(v.excessLiquidity), 'USD'],
    ['Cushion', v.cushion.toFixed(4), ''],
    ['FullInitMarginReq', money(v.initMargin), 'USD'],
    ['FullMaintMarginReq', money(v.maintMargin), 'USD'],
    ['FullAvailableFunds', money(v.availableFunds), 'USD'],
    ['FullExcessLiquidity', money(v.excessLiquidity), 'USD'],
    ['LookAheadNextChange', '0', ''],
    ['LookAheadInitMarginReq', money(v.initMargin), 'USD'],
    ['LookAheadMaintMarginReq', money(v.maintMargin), 'USD'],
    ['LookAheadAvailableFunds', money(v.availableFunds), 'USD'],
    ['LookAheadExcessLiquidity', money(v.excessLiquidity), 'USD'],
    ['HighestSeverity', '0', ''],
    ['DayTradesRemaining', '-1', ''],
    ['Leverage', v.netLiquidation > 0 ? (v.grossPositionValue / v.netLiquidation).toFixed(2) : '0', ''],
  ];
}

/** Ledger tags ($LEDGER, $LEDGER:USD, $LEDGER:ALL) in IB's summary layout. */
export function ledgerTags(v: AccountValues, currencies: string[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const cur of currencies) {
    out.push(['CashBalance', money(v.totalCash), cur]);
    out.push(['TotalCashBalance', money(v.totalCash), cur]);
    out.push(['NetLiquidationByCurrency', money(v.netLiquidation), cur]);
    out.push(['StockMarketValue', money(v.grossPositionValue), cur]);
    out.push(['UnrealizedPnL', money(v.unrealizedPnl), cur]);
    out.push(['RealizedPnL', money(v.realizedPnl), cur]);
    out.push(['ExchangeRate', '1.00', cur]);
  }
  return out;
}

/** The key/value/currency rows of reqAccountUpdates (ACCT_VALUE). */
export function accountUpdateValues(id: string, accountType: string, v: AccountValues): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [
    ['AccountCode', id, ''],
    ['AccountReady', 'true', ''],
    ['Currency', 'USD', 'USD'],
    ['Currency', 'BASE', 'BASE'],
    ['ExchangeRate', '1.00', 'USD'],
    ['CashBalance', money(v.totalCash), 'USD'],
    ['CashBalance', money(v.totalCash), 'BASE'],
    ['TotalCashBalance', money(v.totalCash), 'BASE'],
    ['NetLiquidationByCurrency', money(v.netLiquidation), 'BASE'],
    ['StockMarketValue', money(v.grossPositionValue), 'BASE'],
    ['UnrealizedPnL', money(v.unrealizedPnl), 'BASE'],
    ['RealizedPnL', money(v.realizedPnl), 'BASE'],
  ];
  for (const [tag, value, cur] of summaryTags(accountType, v)) rows.push([tag, value, cur]);
  return rows;
}
