export { startService, waitForOk, ServiceExitedError } from './service.js';
export type { ServiceSpec, RunningService, Listening } from './service.js';
export { Supervised } from './supervisor.js';
export { mainScript } from './paths.js';
export { loadStackConfig, workerMsgRate } from './config.js';
export type { StackConfig } from './config.js';
