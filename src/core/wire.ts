import type { PenguiflowErrorJSON } from '../errors/index.js';
import type { Message, StreamChunk } from './message.js';

/*
 * What controllers and workers say to each other over a ConsumableBus when a
 * flow has distributed nodes. Pure data: it travels inside BusEnvelope.message.
 */

/** Topic of a distributed node's input edge. */
export function workTopic(flow: string, node: string): string {
  return `${flow}.${node}`;
}

/** Consumer group every worker of a node joins, so each message runs once. */
export function workGroup(flow: string, node: string): string {
  return `${flow}.${node}.workers`;
}

/** Where workers send a controller the outcome of the messages it started. */
export function replyTopic(flow: string, controllerId: string): string {
  return `${flow}.reply.${controllerId}`;
}

/** Broadcast channel: every process subscribes with its own group. */
export function controlTopic(flow: string): string {
  return `${flow}.control`;
}

/** Envelope attributes a work message carries. */
export interface WorkAttributes {
  /** The controller waiting for this trace. */
  replyTo: string;
  /** The controller's round of the trace (stale replies are ignored). */
  round: string;
}

/** A worker finished one message of a node (ran, failed for good, or skipped it). */
export interface DoneReply {
  kind: 'done';
  /** Id of the message that was processed. */
  source: string;
  node: string;
  round: number;
  /** Messages the worker sent on to other distributed nodes. */
  forwarded: { id: string; target: string }[];
  /** Messages for controller-local nodes (`target`) or for the flow output (`target: null`). */
  outputs: { target: string | null; message: Message }[];
  /** The node's failure after its last attempt; the controller hands it to `fetch`. */
  error?: PenguiflowErrorJSON;
}

/** A stream chunk, sent as soon as the node produced it. */
export interface ChunkReply {
  kind: 'chunk';
  round: number;
  chunk: Message<StreamChunk>;
}

export type WorkerReply = DoneReply | ChunkReply;

export interface CancelCommand {
  kind: 'cancel';
  traceId: string;
  /** How long workers remember the cancel, so late deliveries of the trace are dropped. */
  ttlMs: number;
}

export type ControlCommand = CancelCommand;
