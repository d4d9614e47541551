import type { PenguiflowErrorJSON } from '../errors/index.js';
import type { FlowEventType } from './events.js';
import type { RunnerHost } from './runner-host.js';
import { childMessage, type Message, type StreamChunk } from './message.js';
import type { EmitOptions, NodeContext, StreamOptions } from './node.js';
import type { NodeRunner } from './runner.js';
import type { StateStore } from '../protocols/state-store.js';
import type { TraceState } from './trace.js';

/**
 * The `ctx` of one attempt. The AbortSignal is created on first use: most
 * nodes never read it, and an AbortController per message is measurable.
 */
export class NodeContextImpl implements NodeContext {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private closed = false;
  private streamSeq: Map<string, number> | undefined;
  /** @internal How many messages this attempt emitted (for deterministic child ids). */
  outputs = 0;

  constructor(
    private readonly flowRef: RunnerHost,
    private readonly runner: NodeRunner,
    readonly message: Message,
    /** @internal */ readonly trace: TraceState,
    readonly attempt: number,
  ) {}

  get node(): string {
    return this.runner.node.name;
  }
  get flow(): string {
    return this.flowRef.name;
  }
  get traceId(): string {
    return this.message.traceId;
  }
  get tenant(): string {
    return this.message.headers.tenant;
  }
  get stateStore(): StateStore | undefined {
    return this.flowRef.stateStore;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** @internal Aborts this attempt's signal (timeout, deadline, cancel). */
  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** @internal The attempt is over: later emits are dropped. */
  close(reason?: unknown): void {
    this.closed = true;
    if (reason !== undefined) this.abort(reason);
  }

  async emit(payload: unknown, options?: EmitOptions): Promise<void> {
    if (this.closed || this.trace.cancelled) return;
    const wait = this.runner.forward(this, payload, options);
    if (wait !== undefined) await wait;
  }

  async stream(data: unknown, options?: StreamOptions): Promise<void> {
    if (this.closed || this.trace.cancelled) return;
    const streamId = options?.streamId ?? `${this.message.id}:${this.runner.node.name}`;
    this.streamSeq ??= new Map();
    const seq = options?.seq ?? this.streamSeq.get(streamId) ?? 0;
    this.streamSeq.set(streamId, seq + 1);
    const chunk: StreamChunk = { streamId, seq, data, done: options?.done ?? false };
    const message = childMessage<StreamChunk>(this.message, chunk);
    this.flowRef.event('stream_chunk', this.trace, this.runner.node.name, {
      messageId: message.id,
      extra: { streamId, seq, done: chunk.done },
    });
    this.flowRef.deliver(this.trace, { kind: 'chunk', message });
  }

  event(type: FlowEventType, fields?: { extra?: Record<string, unknown>; latencyMs?: number; error?: PenguiflowErrorJSON }): void {
    this.flowRef.event(type, this.trace, this.runner.node.name, { messageId: this.message.id, attempt: this.attempt, ...fields });
  }
}
