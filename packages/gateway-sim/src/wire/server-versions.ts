/**
 * The server versions the simulator negotiates, and the MIN_SERVER_VER constants (IB's EClient names and
 * numbers) that gate layouts in the range it supports. Only constants that change a layout inside 164–193,
 * or name why a message or field is always present there, are listed.
 */
export const MIN_SERVER_VER = {
  /** REQ_REAL_TIME_BARS / REAL_TIME_BARS exist. */
  REAL_TIME_BARS: 34,
  /** REQ_FUNDAMENTAL_DATA / FUNDAMENTAL_DATA exist. */
  FUNDAMENTAL_DATA: 40,
  /** REQ_MKT_DEPTH, REQ_REAL_TIME_BARS, REQ_FUNDAMENTAL_DATA carry conId and tradingClass. */
  TRADING_CLASS: 68,
  /** Depth, real-time bar, fundamental and scanner requests end with an options tag-value list. */
  LINKING: 70,
  REQ_MKT_DEPTH_EXCHANGES: 112,
  REQ_NEWS_PROVIDERS: 115,
  REQ_NEWS_ARTICLE: 116,
  REQ_HISTORICAL_NEWS: 117,
  /** MKT_DEPTH_EXCHANGES gains listingExch, serviceDataType (text) and aggGroup. */
  SERVICE_DATA_TYPE: 120,
  /** REQ_NEWS_ARTICLE / REQ_HISTORICAL_NEWS gain an options tag-value list. */
  NEWS_QUERY_ORIGINS: 128,
  /** REQ_SCANNER_SUBSCRIPTION loses its version field and gains the filter-options list. */
  SCANNER_GENERIC_OPTS: 143,
  /** REQ_MKT_DEPTH / CANCEL_MKT_DEPTH gain isSmartDepth; MARKET_DEPTH_L2 gains isSmartDepth. */
  SMART_DEPTH: 146,
  /** REQ_MKT_DEPTH gains primaryExch. */
  MKT_DEPTH_PRIM_EXCHANGE: 149,
  /** REPLACE_FA gains reqId and is answered by REPLACE_FA_END. */
  REPLACE_FA_END: 157,
  /** PLACE_ORDER carries whatIf (after algoId); OPEN_ORDER answers with the margin and commission preview. */
  WHAT_IF_ORDERS: 36,
  /** OPEN_ORDER's what-if block gains initMarginBefore … equityWithLoanChange before the "after" figures. */
  WHAT_IF_EXT_FIELDS: 142,
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
  /** OPEN_ORDER and PLACE_ORDER drop faProfile; REQ_FA / REPLACE_FA refuse FA profiles (type 2). */
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
