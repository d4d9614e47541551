import { BusUnavailableError, DeadlineExceededError, findPenguiflowError, InvalidOptionsError, LoadShedError, PenguiflowError } from '../errors/index.js';
import type { ConsumableBus, Delivery, Subscription } from '../protocols/message-bus.js';
import { nextId } from './ids.js';
import type { Message } from './message.js';
import type { TraceState } from './trace.js';
import type { FlowOutput } from './mailbox.js';
import type { FlowEventType } from './events.js';
import type { EventFields } from './runner-host.js';
import { controlTopic, replyTopic, workGroup, workTopic, type ControlCommand, type WorkerReply } from './wire.js';

export interface DistributedOptions {
  /**
   * Carries distributed edges, worker replies and cancels. A bus object is the
   * caller's: `flow.stop()` leaves it open. A URL (`redis://…`, `nats://…`,
   * `amqp://…`, `postgres://…`, `sqlite:<path>`, as for `openMessageBus`) is
   * opened by the flow and closed by `flow.stop()`.
   */
  bus: ConsumableBus | string;
  /** Unique per controller process. Default: a random id. */
  controllerId?: string;
  /** How long workers remember a cancelled trace. Default 10 minutes. */
  cancelTtlMs?: number;
  /**
   * Load shedding: most messages this controller keeps outstanding on a
   * distributed node's edge (one number for all, or per node). Past 80 % of it
   * messages with `headers.priority < 0` are refused; past it, priority ≤ 0;
   * priority > 0 gets 25 % headroom more. Refused messages fail with LOAD_SHED
   * and a `load_shed` event.
   */
  maxDepth?: number | Record<string, number>;
}

/** The W3C trace context a message carries in `meta.traceparent` (set by tracing middleware or the caller), as an envelope field. */
export function traceparentOf(msg: Message): { traceparent?: string } {
  const value = msg.meta.traceparent;
  return typeof value === 'string' ? { traceparent: value } : {};
}

/** What the controller side needs from its flow. */
export interface ControllerHost {
  readonly name: string;
  event(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: EventFields): void;
  activeTrace(traceId: string): TraceState | undefined;
  deliver(trace: TraceState, output: FlowOutput): void;
  enqueueLocal(target: string, msg: Message, trace: TraceState): Promise<void> | undefined;
  /** Adds `delta` to the outstanding count of remote message `id`; may end the trace. */
  settleRemote(trace: TraceState, id: string, delta: number): void;
}

/**
 * The controller side of distributed edges: publishes messages for
 * distributed nodes, applies worker replies to the trace (outputs, chunks,
 * errors, and the outstanding-message count that says when the trace ends),
 * and broadcasts cancels.
 *
 * Outstanding remote messages are a multiset of ids rather than a counter:
 * the reply for a child can overtake the reply that announced it, and the
 * counts still meet at zero.
 */
export class RemoteEdges {
  readonly bus: ConsumableBus;
  readonly controllerId: string;
  private readonly cancelTtlMs: number;
  private subscription: Subscription | undefined;
  private readonly maxDepth: number | Record<string, number> | undefined;
  /** Outstanding messages per distributed node, and the node each outstanding id went to. */
  private readonly depth = new Map<string, number>();
  private readonly targetOf = new Map<string, string>();

  constructor(
    private readonly host: ControllerHost,
    readonly nodes: ReadonlySet<string>,
    options: DistributedOptions & { bus: ConsumableBus },
  ) {
    if (typeof options.bus?.consume !== 'function') {
      throw new InvalidOptionsError('Distributed nodes need a bus that can consume (a ConsumableBus adapter)');
    }
    this.bus = options.bus;
    this.controllerId = options.controllerId ?? nextId('c');
    this.cancelTtlMs = options.cancelTtlMs ?? 600_000;
    this.maxDepth = options.maxDepth;
  }

  /** Outstanding messages this controller has on `node`'s edge. */
  depthOf(node: string): number {
    return this.depth.get(node) ?? 0;
  }

  private track(id: string, target: string): void {
    if (this.targetOf.has(id)) return;
    this.targetOf.set(id, target);
    this.depth.set(target, (this.depth.get(target) ?? 0) + 1);
  }

  /** Forgets an outstanding id (answered, or its trace was cancelled). */
  untrack(id: string): void {
    const target = this.targetOf.get(id);
    if (target === undefined) return;
    this.targetOf.delete(id);
    this.depth.set(target, (this.depth.get(target) ?? 1) - 1);
  }

  private shouldShed(target: string, priority: number): boolean {
    const limit = typeof this.maxDepth === 'number' ? this.maxDepth : this.maxDepth?.[target];
    if (limit === undefined) return false;
    const depth = this.depthOf(target);
    if (priority > 0) return depth >= limit * 1.25;
    if (priority < 0) return depth >= limit * 0.8;
    return depth >= limit;
  }

  async start(): Promise<void> {
    // work published before any worker started is kept for the workers' group
    if (this.bus.ensureGroup !== undefined) {
      for (const node of this.nodes) await this.bus.ensureGroup(workTopic(this.host.name, node), workGroup(this.host.name, node));
    }
    this.subscription = await this.bus.consume(
      replyTopic(this.host.name, this.controllerId),
      'controller',
      (delivery) => this.onReply(delivery),
      // Ephemeral: the reply topic is this process's alone; its group goes when the process does.
      // Concurrency only sets how many replies a read may fetch: handling is synchronous up to
      // its first await, so replies (and a stream's chunks) still apply in arrival order.
      { consumer: this.controllerId, concurrency: 64, maxDeliveries: 3, ephemeral: true },
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }

  /** Publishes a message on the input edge of distributed node `target`. */
  send(target: string, msg: Message, trace: TraceState, source: string | undefined): Promise<void> {
    const priority = msg.headers.priority ?? 0;
    if (this.shouldShed(target, priority)) {
      const depth = this.depthOf(target);
      this.host.event('load_shed', trace, target, { extra: { depth, priority } });
      return Promise.reject(
        new LoadShedError(`Node "${target}" has ${depth} messages outstanding; a priority ${priority} message was shed`, {
          details: { node: target, depth, priority },
        }),
      );
    }
    this.track(msg.id, target);
    this.host.settleRemote(trace, msg.id, +1);
    this.watchDeadline(trace, msg);
    return this.bus
      .publish({
        id: msg.id,
        topic: workTopic(this.host.name, target),
        key: msg.traceId,
        source,
        target,
        message: msg,
        attributes: { replyTo: this.controllerId, round: String(trace.round) },
        ...traceparentOf(msg),
      })
      .catch((error: unknown) => {
        // Not with the broker: the trace fails with the typed error instead of
        // waiting for a reply that cannot come. A node's emit resolves (the node
        // is not retried for a bus fault); the caller's own emit rejects.
        const failure =
          findPenguiflowError(error) ??
          new BusUnavailableError(`Publishing to node "${target}" failed`, { cause: error, details: { node: target } });
        this.host.event('bus_error', trace, target, { messageId: msg.id, error: failure.toJSON() });
        this.untrack(msg.id);
        if (!trace.ended) {
          trace.failed = true;
          this.host.deliver(trace, { kind: 'error', error: failure });
        }
        this.host.settleRemote(trace, msg.id, -1);
        if (source === undefined) throw failure;
      });
  }

  /*
   * The caller's deadline holds whether or not any worker is alive: at the
   * trace's earliest deadline, work still out on the bus is given up (workers
   * skip it too, past its deadline) and the caller gets DEADLINE_EXCEEDED.
   */
  private watchDeadline(trace: TraceState, msg: Message): void {
    const deadline = msg.deadline;
    if (deadline === undefined || (trace.deadlineAt !== undefined && trace.deadlineAt <= deadline)) return;
    trace.deadlineAt = deadline;
    clearTimeout(trace.deadlineTimer);
    const timer = setTimeout(() => this.expire(trace), Math.max(0, deadline - Date.now()));
    timer.unref?.();
    trace.deadlineTimer = timer;
  }

  private expire(trace: TraceState): void {
    if (trace.ended || trace.cancelled || trace.remote === undefined || trace.remote.size === 0) return;
    const error = new DeadlineExceededError(`Trace ${trace.traceId} passed its deadline with work outstanding on the bus`, {
      details: { traceId: trace.traceId, outstanding: trace.remote.size },
    });
    this.host.event('deadline_skip', trace, undefined, { error: error.toJSON(), extra: { during: 'remote', outstanding: trace.remote.size } });
    trace.failed = true;
    this.host.deliver(trace, { kind: 'error', error });
    for (const [id, count] of [...trace.remote]) {
      this.untrack(id);
      this.host.settleRemote(trace, id, -count);
    }
  }

  /** Tells every worker to drop and abort the trace. */
  async cancel(traceId: string, tenant: string): Promise<void> {
    const command: ControlCommand = { kind: 'cancel', traceId, ttlMs: this.cancelTtlMs };
    await this.bus.publish({
      id: nextId('x'),
      topic: controlTopic(this.host.name),
      message: { id: nextId('m'), payload: command, headers: { tenant }, traceId, meta: {} },
    });
  }

  private async onReply(delivery: Delivery): Promise<void> {
    const msg = delivery.envelope.message;
    const reply = msg.payload as WorkerReply;
    const trace = this.host.activeTrace(msg.traceId);
    if (trace === undefined || trace.cancelled || trace.round !== reply.round) return;
    if (reply.kind === 'chunk') {
      this.host.deliver(trace, { kind: 'chunk', message: reply.chunk });
      return;
    }
    const key = `${reply.source}|${reply.node}`;
    trace.seenReplies ??= new Set();
    if (trace.seenReplies.has(key)) return; // a redelivered message was run again: its outcome is known
    trace.seenReplies.add(key);
    for (const f of reply.forwarded) {
      this.track(f.id, f.target);
      this.host.settleRemote(trace, f.id, +1);
    }
    for (const out of reply.outputs) {
      if (out.target === null) this.host.deliver(trace, { kind: 'result', message: out.message });
      else {
        const wait = this.host.enqueueLocal(out.target, out.message, trace);
        if (wait !== undefined) await wait;
      }
    }
    if (reply.error !== undefined) {
      trace.failed = true;
      this.host.deliver(trace, { kind: 'error', error: PenguiflowError.fromJSON(reply.error) });
    }
    this.untrack(reply.source);
    this.host.settleRemote(trace, reply.source, -1);
  }
}
