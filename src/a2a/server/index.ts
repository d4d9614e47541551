export * from './a2a-server.js';
export * from './agent-card.js';
export * from './flow-handle.js';
export * from './task-manager.js';
export * from './push-notifier.js';
