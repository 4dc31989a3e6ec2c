/**
 * The server versions the simulator negotiates, and the MIN_SERVER_VER constants (IB's EClient names and
 * numbers) that gate layouts in the range it supports. Only constants that change a layout inside 164–193
 * (or name why a field is always present there) are listed.
 */
export const MIN_SERVER_VER = {
  /** OPEN_ORDER / PLACE_ORDER lose their message-version field. */
  ORDER_CONTAINER: 145,
  /** HISTORICAL_DATA loses its version field and hasGaps; REQ_HISTORICAL_DATA gains keepUpToDate. */
  SYNT_REALTIME_BARS: 124,
  /** ORDER_STATUS loses its version field and gains mktCapPrice. */
  MARKET_CAP_PRICE: 131,
  /** EXECUTION_DATA loses its version field and gains lastLiquidity. */
  LAST_LIQUIDITY: 136,
  /** CONTRACT_DATA loses its version field; minSize/sizeIncrement/suggestedSizeIncrement. */
  SIZE_RULES: 164,
  /** ERR_MSG gains advancedOrderRejectJson. */
  ADVANCED_ORDER_REJECT: 166,
  /** CANCEL_ORDER gains manualOrderCancelTime. */
  MANUAL_ORDER_TIME: 169,
  /** OPEN_ORDER / COMPLETED_ORDER gain minTradeQty … midOffsetAtHalf. */
  PEGBEST_PEGMID_OFFSETS: 170,
  /** REQ_CONTRACT_DATA gains issuerId; SYMBOL_SAMPLES gains description and issuerId. */
  BOND_ISSUERID: 176,
  /** OPEN_ORDER and PLACE_ORDER drop faProfile. */
  FA_PROFILE_DESUPPORT: 177,
  /** EXECUTION_DATA gains pendingPriceRevision. */
  PENDING_PRICE_REVISION: 178,
  /** CONTRACT_DATA gains 17 fund fields (secType FUND only). */
  FUND_DATA_FIELDS: 179,
  /** CONTRACT_DATA gains lastTradeDate. */
  LAST_TRADE_DATE: 182,
  /** OPEN_ORDER / COMPLETED_ORDER gain customerAccount. */
  CUSTOMER_ACCOUNT: 183,
  /** OPEN_ORDER / COMPLETED_ORDER gain professionalCustomer. */
  PROFESSIONAL_CUSTOMER: 184,
  /** OPEN_ORDER gains bondAccruedInterest. */
  BOND_ACCRUED_INTEREST: 185,
  /** CONTRACT_DATA gains the ineligibility reason list. */
  INELIGIBILITY_REASONS: 186,
  /** CANCEL_ORDER gains three RFQ fields (removed again at UNDO_RFQ_FIELDS). */
  RFQ_FIELDS: 187,
  /** OPEN_ORDER gains includeOvernight. */
  INCLUDE_OVERNIGHT: 189,
  UNDO_RFQ_FIELDS: 190,
  /** CANCEL_ORDER / REQ_GLOBAL_CANCEL lose their version field and gain extOperator, manualOrderIndicator. */
  CME_TAGGING_FIELDS: 192,
  /** OPEN_ORDER gains extOperator and manualOrderIndicator. */
  CME_TAGGING_FIELDS_IN_OPEN_ORDER: 193,
} as const;

/** Lowest server version the simulator speaks: from here on every complex layout depends only on it. */
export const SIM_MIN_VERSION = 164;
/** Highest server version the simulator can speak (the highest @stoqey/ib 1.6.10 accepts). */
export const SIM_MAX_SUPPORTED = 193;
/** Default maximum: the long-running stable IB Gateway line (TWS API 10.19). */
export const SIM_DEFAULT_VERSION = 176;
