/** @module penguiflow/memory — in-process reference adapters; the unit tests run the conformance suites on them. */
export * from './memory-state-store.js';
export * from './memory-message-bus.js';
