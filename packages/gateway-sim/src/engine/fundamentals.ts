import type { ContractDef } from './catalogue.js';
import { xmlEscape } from './fa-config.js';
import { Random } from './random.js';

/** Report types IB serves through reqFundamentalData (CalendarReport was withdrawn). */
export const REPORT_TYPES = [
  'ReportSnapshot',
  'ReportsFinSummary',
  'ReportRatios',
  'ReportsFinStatements',
  'RESC',
] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

interface Figures {
  shares: number;
  revenue: number;
  netIncome: number;
  eps: number;
  dividend: number;
  employees: number;
}

/** Company figures as a pure function of (seed, conId, price): stable across requests. */
function figures(seed: number, c: ContractDef, price: number): Figures {
  const r = new Random((seed * 7) ^ c.conId);
  const shares = r.int(500, 15_000) * 1e6;
  const revenue = Math.round(shares * price * (0.1 + r.next() * 0.3));
  const netIncome = Math.round(revenue * (0.05 + r.next() * 0.25));
  return {
    shares,
    revenue,
    netIncome,
    eps: Number((netIncome / shares).toFixed(2)),
    dividend: Number((r.next() * 3).toFixed(2)),
    employees: r.int(5_000, 200_000),
  };
}

const fiscalYears = (nowMs: number): number[] => {
  const y = new Date(nowMs).getUTCFullYear() - 1;
  return [y, y - 1, y - 2];
};

/**
 * One fundamental report as XML, shaped like IB's (root element and main sections) with deterministic
 * figures. `price` is the instrument's current last price.
 */
export function fundamentalReport(
  type: ReportType,
  seed: number,
  c: ContractDef,
  price: number,
  nowMs: number,
): string {
  const f = figures(seed, c, price);
  const name = xmlEscape(c.longName);
  const decl = '<?xml version="1.0" encoding="UTF-8"?>';
  const years = fiscalYears(nowMs);
  const coIds =
    `<CoIDs><CoID Type="RepNo">${c.conId.toString(36).toUpperCase()}</CoID>` +
    `<CoID Type="CompanyName">${name}</CoID></CoIDs>`;
  switch (type) {
    case 'ReportSnapshot':
      return (
        `${decl}<ReportSnapshot Major="1" Minor="0" Revision="1">${coIds}` +
        `<Issues><Issue ID="1" Type="C" Desc="Common Stock" Order="1"><IssueID Type="Ticker">${c.symbol}</IssueID>` +
        `${c.isin ? `<IssueID Type="ISIN">${c.isin}</IssueID>` : ''}` +
        `<Exchange Code="${c.primaryExch}" Country="USA">${c.primaryExch}</Exchange></Issue></Issues>` +
        `<CoGeneralInfo><CoStatus Code="1">Active</CoStatus><Employees>${f.employees}</Employees>` +
        `<SharesOut TotalFloat="${Math.round(f.shares * 0.98)}">${f.shares}</SharesOut>` +
        `<ReportingCurrency Code="USD">U.S. Dollars</ReportingCurrency></CoGeneralInfo>` +
        `<TextInfo><Text Type="Business Summary">${name} operates in ${xmlEscape(c.industry)} ` +
        `(${xmlEscape(c.category)}).</Text></TextInfo>` +
        `<Ratios PriceCurrency="USD" ReportingCurrency="USD" ExchangeRate="1.00000"><Group ID="Price and Volume">` +
        `<Ratio FieldName="NPRICE" Type="N">${price}</Ratio></Group><Group ID="Income Statement">` +
        `<Ratio FieldName="MKTCAP" Type="N">${((f.shares * price) / 1e6).toFixed(1)}</Ratio>` +
        `<Ratio FieldName="TTMREV" Type="N">${(f.revenue / 1e6).toFixed(1)}</Ratio>` +
        `<Ratio FieldName="TTMEPSXCLX" Type="N">${f.eps}</Ratio></Group></Ratios></ReportSnapshot>`
      );
    case 'ReportsFinSummary':
      return (
        `${decl}<FinancialSummary><EPSs currency="USD">` +
        years.map((y) => `<EPS asofDate="${y}-12-31" reportType="A" period="12M">${f.eps}</EPS>`).join('') +
        `</EPSs><DividendPerShares currency="USD">` +
        years
          .map(
            (y) =>
              `<DividendPerShare asofDate="${y}-12-31" reportType="A" period="12M">${f.dividend}</DividendPerShare>`,
          )
          .join('') +
        `</DividendPerShares><TotalRevenues currency="USD">` +
        years
          .map((y) => `<TotalRevenue asofDate="${y}-12-31" reportType="A" period="12M">${f.revenue}</TotalRevenue>`)
          .join('') +
        `</TotalRevenues></FinancialSummary>`
      );
    case 'ReportRatios':
      return (
        `${decl}<ReportRatios Major="1" Minor="0" Revision="1">${coIds}` +
        `<Ratios PriceCurrency="USD" ReportingCurrency="USD"><Group ID="Valuation">` +
        `<Ratio FieldName="PEEXCLXOR" Type="N">${(price / Math.max(0.01, f.eps)).toFixed(2)}</Ratio>` +
        `<Ratio FieldName="YIELD" Type="N">${((f.dividend / price) * 100).toFixed(2)}</Ratio></Group>` +
        `<Group ID="Profitability">` +
        `<Ratio FieldName="TTMNPMGN" Type="N">${((f.netIncome / f.revenue) * 100).toFixed(2)}</Ratio></Group>` +
        `</Ratios></ReportRatios>`
      );
    case 'ReportsFinStatements':
      return (
        `${decl}<ReportFinancialStatements Major="1" Minor="0" Revision="1">${coIds}` +
        `<FinancialStatements><AnnualPeriods>` +
        years
          .map(
            (y) =>
              `<FiscalPeriod Type="Annual" EndDate="${y}-12-31" FiscalYear="${y}"><Statement Type="INC">` +
              `<lineItem coaCode="RTLR">${(f.revenue / 1e6).toFixed(1)}</lineItem>` +
              `<lineItem coaCode="NINC">${(f.netIncome / 1e6).toFixed(1)}</lineItem>` +
              `</Statement></FiscalPeriod>`,
          )
          .join('') +
        `</AnnualPeriods></FinancialStatements></ReportFinancialStatements>`
      );
    case 'RESC':
      return (
        `${decl}<REarnEstCons Version="1"><Company><SecIds>` +
        `<SecId type="TICKER">${c.symbol}</SecId></SecIds></Company>` +
        `<ConsEstimates><FYEstimates><FYEstimate type="EPS" unit="U">` +
        `<FYPeriod periodType="A" fYear="${years[0]! + 1}">` +
        `<ConsEstimate type="Mean"><ConsValue dateType="CURR">${(f.eps * 1.08).toFixed(2)}</ConsValue></ConsEstimate>` +
        `</FYPeriod></FYEstimate></FYEstimates></ConsEstimates></REarnEstCons>`
      );
  }
}
