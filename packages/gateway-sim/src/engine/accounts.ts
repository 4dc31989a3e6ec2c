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
  /** Cash in USD (the base currency). */
  cash: number;
  /** Cash held in other currencies (currency → amount), valued at FX_RATES in the base currency. */
  fxCash?: Record<string, number>;
  positions?: PositionSeed[];
}

/** USD value of one unit of each non-base currency the simulator books (fixed: the walk moves prices only). */
export const FX_RATES: Readonly<Record<string, number>> = {
  EUR: 1.0845,
  GBP: 1.2705,
  CHF: 1.1312,
  JPY: 0.0067,
  CAD: 0.7321,
};

export const DEFAULT_ACCOUNTS: AccountSeed[] = [
  { id: 'DU1234567', cash: 100_000, positions: [{ symbol: 'AAPL', quantity: 100, avgPrice: 150 }] },
];

const SEED_SYMBOLS = ['AAPL', 'MSFT', 'IBM', 'TSLA', 'AMZN', 'SPY'];

/**
 * Accounts for a list of ids (the `--accounts` option): each gets cash and a stock position of its own, the
 * second and later ones also some EUR, so every account has values, positions and PnL, in several currencies.
 */
export function seedAccounts(ids: readonly string[]): AccountSeed[] {
  return ids.map((id, i) => ({
    id,
    cash: 100_000 - i * 10_000,
    ...(i > 0 ? { fxCash: { EUR: 5_000 * i } } : {}),
    positions: [{ symbol: SEED_SYMBOLS[i % SEED_SYMBOLS.length]!, quantity: 10 * (i + 1), avgPrice: 100 + 10 * i }],
  }));
}

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
  /** currency → cash in that currency (besides the USD `cash`). */
  fxCash: Map<string, number>;
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
      const fxCash = new Map<string, number>();
      for (const [cur, amount] of Object.entries(s.fxCash ?? {})) {
        if (FX_RATES[cur] === undefined) throw new Error(`account ${s.id}: no exchange rate for ${cur}`);
        fxCash.set(cur, amount);
      }
      const acct: Account = {
        id: s.id,
        cash: s.cash,
        fxCash,
        startOfDayNetLiq: 0,
        realizedPnl: 0,
        positions: new Map(),
      };
      for (const p of s.positions ?? []) {
        const c = p.conId !== undefined ? catalogue.byConId(p.conId) : catalogue.bySymbol(p.symbol ?? '');
        if (!c) throw new Error(`account ${s.id}: unknown position contract ${p.symbol ?? p.conId}`);
        acct.positions.set(c.conId, {
          contract: c,
          quantity: p.quantity,
          avgCost: p.avgPrice * multiplierOf(c),
          realizedPnl: 0,
        });
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
      total = addMargins(
        total,
        positionMargin(extra.contract, extra.quantity, this.markPrice(extra.contract), multiplierOf(extra.contract)),
      );
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
    const cashByCurrency: Record<string, number> = { USD: acct.cash };
    let totalCash = acct.cash;
    for (const [cur, amount] of acct.fxCash) {
      cashByCurrency[cur] = amount;
      totalCash += amount * FX_RATES[cur]!;
    }
    const netLiquidation = totalCash + marketValue;
    const { init: initMargin, maint: maintMargin } = this.margin(id);
    const excess = netLiquidation - maintMargin;
    return {
      netLiquidation,
      totalCash,
      cashByCurrency,
      stockMarketValue: marketValue,
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
  /** All cash in the base currency (USD). */
  totalCash: number;
  /** Cash per currency, in that currency (USD always present). */
  cashByCurrency: Record<string, number>;
  /** Signed market value of the positions (all priced in USD). */
  stockMarketValue: number;
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
export function summaryTags(
  accountType: string,
  v: AccountValues,
): Array<[tag: string, value: string, currency: string]> {
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

/** Currencies of `$LEDGER:ALL`: BASE first, then every currency the account holds cash in. */
export function ledgerCurrencies(v: AccountValues): string[] {
  return ['BASE', ...Object.keys(v.cashByCurrency).sort()];
}

/**
 * Ledger rows ($LEDGER = BASE, $LEDGER:<CCY>, $LEDGER:ALL = BASE and every held currency) in IB's layout:
 * per currency the cash in that currency; BASE carries the totals in the base currency.
 */
export function ledgerTags(v: AccountValues, currencies: string[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const cur of currencies) {
    const base = cur === 'BASE';
    const cash = base ? v.totalCash : (v.cashByCurrency[cur] ?? 0);
    const rate = base || cur === 'USD' ? 1 : (FX_RATES[cur] ?? 0);
    // Positions are all USD-priced: their value and PnL sit in USD and in BASE.
    const holdsStock = base || cur === 'USD';
    out.push(['CashBalance', money(cash), cur]);
    out.push(['TotalCashBalance', money(cash), cur]);
    out.push(['NetLiquidationByCurrency', money(cash + (holdsStock ? v.stockMarketValue : 0)), cur]);
    out.push(['StockMarketValue', money(holdsStock ? v.stockMarketValue : 0), cur]);
    out.push(['UnrealizedPnL', money(holdsStock ? v.unrealizedPnl : 0), cur]);
    out.push(['RealizedPnL', money(holdsStock ? v.realizedPnl : 0), cur]);
    out.push(['ExchangeRate', rate.toFixed(base || cur === 'USD' ? 2 : 4), cur]);
  }
  return out;
}

/** The key/value/currency rows of reqAccountUpdates (ACCT_VALUE) and reqAccountUpdatesMulti: every currency. */
export function accountUpdateValues(
  id: string,
  accountType: string,
  v: AccountValues,
): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [
    ['AccountCode', id, ''],
    ['AccountReady', 'true', ''],
    ['Currency', 'BASE', 'BASE'],
  ];
  for (const cur of Object.keys(v.cashByCurrency).sort()) rows.push(['Currency', cur, cur]);
  rows.push(...ledgerTags(v, ledgerCurrencies(v)));
  for (const [tag, value, cur] of summaryTags(accountType, v)) rows.push([tag, value, cur]);
  return rows;
}
