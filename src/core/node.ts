import type { StandardSchemaV1 } from './validation.js';
import type { BackoffPolicy } from './backoff.js';
import type { Message, Headers } from './message.js';
import type { FlowEventType } from './events.js';
import type { StateStore } from '../protocols/state-store.js';
import type { PenguiflowErrorJSON } from '../errors/index.js';
import { InvalidFlowError } from '../errors/index.js';

/** How the runtime runs one node. Every field is optional. */
export interface NodePolicy {
  /** Per-attempt budget; past it the attempt fails with NODE_TIMEOUT and its signal aborts. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 0. */
  maxRetries?: number;
  backoff?: BackoffPolicy;
  /** Messages this node runs at once. Default 1 (in order). */
  concurrency?: number;
  /** Standard Schema (e.g. zod) for the incoming payload; failures are not retried. */
  validateIn?: StandardSchemaV1;
  /** Standard Schema for the returned payload; a failure becomes NODE_EXCEPTION naming the issue. */
  validateOut?: StandardSchemaV1;
  /** Allows an edge from this node to itself. */
  allowCycle?: boolean;
  /**
   * Groups messages by a key (e.g. `(msg) => msg.headers.tenant`) and runs at
   * most `maxPerKey` of one key at once, so one tenant cannot starve the others.
   * On workers the limit holds across every worker (it needs a store with leases).
   */
  concurrencyKey?: (msg: Message) => string;
  /** Default 1 when `concurrencyKey` is set. */
  maxPerKey?: number;
  /**
   * Distributed nodes: the wait before a failed message is delivered again
   * (to any worker), per delivery. Default `{ baseMs: 500, multiplier: 2, maxMs: 30_000, jitter: 0.2 }`.
   * `backoff` spaces the in-process retries of one delivery; this spaces deliveries.
   */
  redeliveryBackoff?: BackoffPolicy;
  /** `distributed`: the node runs on workers that consume its input edge from a bus. Default `local`. */
  placement?: 'local' | 'distributed';
}

export interface EmitOptions {
  /** Successor name(s) to send to; default all successors (or the flow output when there are none). */
  to?: string | string[];
  meta?: Record<string, unknown>;
  headers?: Headers;
}

export interface StreamOptions {
  /** Marks the last chunk of the stream. */
  done?: boolean;
  /** Default: one stream per node invocation. */
  streamId?: string;
  /**
   * Position of this chunk in its stream (default: the attempt's count, from 0).
   * A retry that resumes where the previous attempt stopped passes it, so its
   * chunks are not taken for repeats of the ones already sent.
   */
  seq?: number;
}

/** What a node sees besides its message. */
export interface NodeContext {
  readonly node: string;
  readonly flow: string;
  readonly traceId: string;
  readonly tenant: string;
  readonly message: Message;
  /** 0 on the first attempt. */
  readonly attempt: number;
  /** Aborts on trace cancel, deadline, timeout or flow stop. Pass it to fetch, drivers, subflows. */
  readonly signal: AbortSignal;
  readonly stateStore: StateStore | undefined;
  /** Sends a payload on (in addition to what the node returns). */
  emit(payload: unknown, options?: EmitOptions): Promise<void>;
  /** Sends a chunk to the trace's output, ordered by `seq` per stream. */
  stream(data: unknown, options?: StreamOptions): Promise<void>;
  /** Emits a custom FlowEvent for this node and trace (e.g. remote_call_start). */
  event(type: FlowEventType, fields?: { extra?: Record<string, unknown>; latencyMs?: number; error?: PenguiflowErrorJSON }): void;
}

/**
 * A node's function. Returning a value emits it to the successors (to the
 * flow's output when there are none); returning `undefined` emits nothing.
 */
export type NodeFn<I = any, O = any> = (message: Message<I>, ctx: NodeContext) => O | undefined | Promise<O | undefined>;

/** One edge list: `from` sends to each of `to`. */
export interface EdgeSpec {
  readonly from: Node;
  readonly to: readonly (Node | string)[];
}

/**
 * A named step of a flow.
 *
 * @example
 * const upper = node('upper', async (msg: Message<string>) => msg.payload.toUpperCase(), { timeoutMs: 1_000 });
 */
export class Node<I = any, O = any> {
  constructor(
    readonly name: string,
    readonly fn: NodeFn<I, O>,
    readonly policy: Readonly<NodePolicy> = {},
  ) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidFlowError('A node needs a non-empty name');
    if (typeof fn !== 'function') throw new InvalidFlowError(`Node "${name}" needs a function`);
    checkPolicy(name, policy);
  }

  /** Declares edges from this node. Successors are nodes or node names. */
  to(...successors: (Node | string)[]): EdgeSpec {
    return { from: this, to: successors };
  }
}

function checkPolicy(name: string, policy: NodePolicy): void {
  const positive = (field: keyof NodePolicy, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isFinite(value) || value < min)) {
      throw new InvalidFlowError(`Node "${name}": policy.${field} must be a number >= ${min}`);
    }
  };
  positive('timeoutMs', policy.timeoutMs, 1);
  positive('maxRetries', policy.maxRetries, 0);
  positive('concurrency', policy.concurrency, 1);
}

/** Creates a node. */
export function node<I = any, O = any>(name: string, fn: NodeFn<I, O>, policy?: NodePolicy): Node<I, O> {
  return new Node(name, fn, policy);
}
