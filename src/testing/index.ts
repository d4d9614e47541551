/** @module penguiflow/testing — public conformance suites for adapters. */
export * from './message-bus-suite.js';
export * from './state-store-suite.js';
export * from './agent-registry-suite.js';
