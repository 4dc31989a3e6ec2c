export { startProxy, type RunningProxy, type StartOptions } from './proxy.js';
export { loadConfig, configWithDefaults, parseWorkers, type ProxyConfig, type WorkerTarget } from './config.js';
export { hashApiKey, parseApiKeys, SCOPES, type ApiKeyRecord, type Scope } from './security/api-keys.js';
export { classify, type Route } from './router/routes.js';
export { MarketDataBudgets, type BudgetKind, type BudgetUse } from './budgets/market-data.js';
export { BurstDetector, classifyAnswer } from './health/burst.js';
export { HistoricalPacer, HISTORICAL_RULES, type HistoricalRequest } from './pacing/historical.js';
export { buildProxyOpenApi } from './openapi.js';
export * from './errors.js';
