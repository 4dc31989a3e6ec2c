export { startService, waitForOk, ServiceExitedError } from './service.js';
export type { ServiceSpec, RunningService, Listening } from './service.js';
export { Supervised } from './supervisor.js';
export { mainScript } from './paths.js';
export { loadStackConfig, PROXY_NODE_OPTIONS, workerMsgRate } from './config.js';
export type { StackConfig } from './config.js';
