/**
 * @module penguiflow — typed async flows of nodes. Public core API only.
 */
export { createFlow, Flow, type FlowOptions, type FetchOptions, type FlowStats, type Placement } from './core/flow.js';
export { node, Node, type NodeFn, type NodePolicy, type NodeContext, type EmitOptions, type StreamOptions, type EdgeSpec } from './core/node.js';
export { message, childMessage, assertValidMessage, type Message, type Headers, type StreamChunk, type MessageInit } from './core/message.js';
export { FLOW_EVENT_TYPES, type FlowEvent, type FlowEventType, type FlowMiddleware, type TraceStatus } from './core/events.js';
export type { FlowOutput } from './core/mailbox.js';
export { router, unionRouter, joinK, mapConcurrent, callSubflow } from './core/patterns.js';
export { backoffDelay, sleep, type BackoffPolicy } from './core/backoff.js';
export type { RecorderOptions, RecorderStats } from './core/recorder.js';
export { nextId } from './core/ids.js';
export * from './errors/index.js';
export * from './protocols/index.js';
// Side effect only: registers the on-demand URL opener behind run({ distributed: { bus: '<url>' } }) (no driver is loaded here).
import './adapters/url-openers.js';
