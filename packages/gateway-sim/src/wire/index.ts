export * from './fields.js';
export * from './framing.js';
export * from './msg-ids.js';
export * from './server-versions.js';
