/**
 * @module penguiflow/a2a — A2A v1.0 protocol types and codecs, a server
 * (`createA2AServer`) and a client transport (`createA2AClient`), both also
 * speaking the v0.3 JSON-RPC dialect.
 */
export * from './protocol/index.js';
export * from './server/index.js';
export * from './client/index.js';
export * from './compression.js';
