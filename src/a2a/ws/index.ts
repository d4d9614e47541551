/**
 * @module penguiflow/a2a/ws — live task/trace events over a WebSocket (`ws`), next to an A2A server.
 */
export * from './frames.js';
export * from './ws-endpoint.js';
