export * from './errors.js';
export * from './env.js';
export * from './logger.js';
export * from './metrics.js';
