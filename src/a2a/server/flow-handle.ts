import type { Message, StreamChunk } from '../../core/message.js';

/** One output of a trace, as the flow's `outputs()` yields it. */
export type A2AFlowOutput =
  | { kind: 'chunk'; message: Message<StreamChunk> }
  | { kind: 'result'; message: Message }
  | { kind: 'error'; error: unknown };

/**
 * The part of a flow the A2A server uses. A penguiflow `Flow` satisfies it
 * structurally; tests and other runtimes can provide their own.
 *
 * Invariants the server relies on: `outputs(traceId)` called after `emit`
 * yields every output of that round in order and ends when the trace has no
 * work left; `cancel(traceId)` makes the running round end.
 */
export interface A2AFlowHandle {
  emit(msg: Message): Promise<void>;
  outputs(traceId: string, options?: { signal?: AbortSignal }): AsyncIterable<A2AFlowOutput>;
  cancel(traceId: string): Promise<boolean>;
  /** Optional: lets the server notice a finished round even if an end marker is missed. */
  isTraceActive?(traceId: string): boolean;
}

/** Meta key a result sets to move the task to `input-required` (see {@link inputRequired}). */
export interface A2AResultMeta {
  state?: 'input-required' | 'auth-required';
}

/**
 * Marks a node's output as a question for the caller: the A2A task moves to
 * `input-required` with `payload` as its status message, and the next message
 * sent with the same task id continues the same trace.
 *
 * Use it with `ctx.emit` (it carries the meta the server looks for):
 *
 * @example
 * const ask = node('ask', async (msg, ctx) => {
 *   if (!msg.payload.city) { await ctx.emit(...inputRequired('Which city?')); return undefined; }
 *   return `Weather in ${msg.payload.city}: sunny`;
 * });
 */
export function inputRequired(payload: unknown): [unknown, { meta: { a2a: A2AResultMeta } }] {
  return [payload, { meta: { a2a: { state: 'input-required' } } }];
}

/** True when a flow result asks for input (see {@link inputRequired}). */
export function isInputRequired(msg: Message): boolean {
  const a2a = msg.meta.a2a as A2AResultMeta | undefined;
  return a2a?.state === 'input-required';
}
