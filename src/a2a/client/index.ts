export * from './a2a-client.js';
export * from './sse-reader.js';
export * from './wire-errors.js';
export * from './pooled-fetch.js';
