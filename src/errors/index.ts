/** @module penguiflow/errors — one error table, one base class, guards. */
export * from './codes.js';
export * from './penguiflow-error.js';
export * from './classes.js';
