import type { StateStore } from '../protocols/state-store.js';
import type { FlowEvent, FlowEventType } from './events.js';
import type { FlowOutput } from './mailbox.js';
import type { Message } from './message.js';
import type { TraceState } from './trace.js';

export type EventFields = Partial<Omit<FlowEvent, 'id' | 'type' | 'ts' | 'flow' | 'traceId' | 'tenant'>>;

/**
 * What a NodeRunner needs from whatever hosts it: the in-process Flow, or a
 * worker running one delivery from a bus. Keeps node semantics (deadlines,
 * timeouts, retries, validation, events) in one place for both.
 */
export interface RunnerHost {
  readonly name: string;
  /** True when events have a consumer (middleware or store): otherwise none are built. */
  readonly listening: boolean;
  readonly stateStore: StateStore | undefined;
  trace(traceId: string): TraceState | undefined;
  /** A message finished (ran, was dropped or skipped). */
  release(trace: TraceState): void;
  event(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: EventFields): void;
  /** An output for whoever reads the trace (result, chunk or error). */
  deliver(trace: TraceState, output: FlowOutput): void;
  /** Sends a message along an edge; a promise only when it must wait. */
  enqueue(target: string, msg: Message, trace: TraceState, source: string | undefined): Promise<void> | undefined;
  /** Messages waiting in `node`'s input queue, when the host holds that queue. */
  queueDepth(node: string): number | undefined;
  /** A promise while the host wants producers to slow down. */
  backpressure(): Promise<void> | undefined;
  /** In sync durability: resolves once every event so far is committed. */
  durablePoint(): Promise<void> | undefined;
  /**
   * Id for the `index`-th message a node emits while handling `parent`.
   * Hosts that may run a message twice (bus redelivery) return a deterministic
   * id so downstream consumers can deduplicate; others return undefined.
   */
  childId(parent: Message, node: string, index: number): string | undefined;
}
