/** @module penguiflow/protocols — the small interfaces adapters implement. No I/O here. */
export * from './state-store.js';
export * from './store-capabilities.js';
export * from './message-bus.js';
export * from './remote-transport.js';
export * from './serializer.js';
export * from './store-extras.js';
export * from './agent-registry.js';
