export * from './constants.js';
export * from './types.js';
export * from './errors.js';
export * from './validate.js';
export * from './legacy.js';
export * from './payload.js';
export * from './jsonrpc.js';
export * from './sse.js';
