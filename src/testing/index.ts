/** @module penguiflow/testing — public conformance suites for adapters. */
export * from './state-store-suite.js';
