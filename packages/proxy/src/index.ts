export { startProxy, type RunningProxy, type StartOptions } from './proxy.js';
export { loadConfig, configWithDefaults, parseWorkers, type ProxyConfig, type WorkerTarget } from './config.js';
export { hashApiKey, parseApiKeys, SCOPES, type ApiKeyRecord, type Scope } from './security/api-keys.js';
export { classify, GLOBAL_CANCEL_PATH, MIRROR_READ_PATHS, type Route } from './router/routes.js';
export { MarketDataBudgets, contractCount, type BudgetKind, type BudgetUse } from './budgets/market-data.js';
export { BurstDetector, classifyAnswer } from './health/burst.js';
export { HistoricalPacer, historicalRequestOf, HISTORICAL_RULES } from './pacing/historical.js';
export * from './errors.js';
