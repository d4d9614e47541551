/** @module penguiflow/remote — remote A2A agents as nodes in a flow. */
export * from './remote-node.js';
