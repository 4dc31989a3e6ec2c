export { CAPABILITIES, isCapability, type Capability } from './capabilities.js';
export {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  INTERNAL_HEADER_PREFIX,
  INTERNAL_HEADERS,
  isInternalHeader,
  MIRROR_AGE_HEADER,
} from './headers.js';
export { canonicalQuery, param, PRESENTATION_PARAMS, type Query } from './query.js';
export { applyContractDefaults, CONTRACT_FIELDS, contractFieldsOf, type ContractField } from './contract-query.js';
export { marketDataItems, marketDataLines, MAX_STREAM_CONTRACTS, type MarketDataItems } from './market-data.js';
export {
  BAR_SIZES,
  barSeconds,
  HISTORICAL_DEFAULTS,
  historicalRequest,
  PACED_BAR_SECONDS,
  type HistoricalRequestIdentity,
} from './historical.js';
export {
  ATOM_MEDIA_TYPE,
  feedFormat,
  isStreamRequest,
  SSE_CONTENT_TYPE,
  subscriptionKey,
  type FeedFormat,
} from './subscription.js';
export {
  ROUTES,
  routeById,
  workerRoutes,
  type Budget,
  type BudgetClass,
  type HttpMethod,
  type RequestIdentity,
  type RouteEntry,
  type Scope,
  type StickyBy,
  type Target,
} from './manifest.js';
export { compilePath, RouteMatcher, type MatchResult } from './match.js';
export { extractTable, renderRouteTable, replaceTable, TABLE_BEGIN, TABLE_END } from './docs.js';
export { WORKER_OPENAPI } from './worker-openapi-doc.js';
