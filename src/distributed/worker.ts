import { hostname } from 'node:os';
import { InvalidOptionsError, PenguiflowError, UnknownNodeError } from '../errors/index.js';
import type { FlowEventType, FlowMiddleware } from '../core/events.js';
import type { Flow } from '../core/flow.js';
import { nextId } from '../core/ids.js';
import type { FlowOutput } from '../core/mailbox.js';
import type { Message } from '../core/message.js';
import type { RecorderOptions } from '../core/recorder.js';
import { EventHub } from '../core/event-hub.js';
import type { EventFields, RunnerHost } from '../core/runner-host.js';
import { NodeRunner } from '../core/runner.js';
import { TraceState } from '../core/trace.js';
import { traceparentOf } from '../core/remote-edges.js';
import {
  controlTopic,
  replyTopic,
  workGroup,
  workTopic,
  type ChunkReply,
  type ControlCommand,
  type DoneReply,
} from '../core/wire.js';
import type { ConsumableBus, Delivery, Subscription } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';
import { hasLeaseStore } from '../protocols/store-capabilities.js';

export interface WorkerOptions {
  /** The flow definition (the same module the controller uses); it is not run here. */
  flow: Flow;
  bus: ConsumableBus;
  /** Where events, heartbeats and done-markers go; workers sharing one store see each other. */
  store?: StateStore;
  /** Distributed nodes this worker runs. Default: every distributed node of the flow. */
  nodes?: string[];
  /** Messages run at once per node. Default 1. */
  concurrency?: number;
  /** Unacked work is redelivered to another worker after this long. Default 30 s. */
  leaseMs?: number;
  /** Deliveries of a failing message before it is dead-lettered. Default 5. */
  maxDeliveries?: number;
  /** Heartbeat period; the registration lease lives 3 heartbeats. Default 2 s. */
  heartbeatMs?: number;
  workerId?: string;
  recorder?: RecorderOptions;
  middlewares?: FlowMiddleware[];
}

export interface WorkerStats {
  processed: number;
  failed: number;
  redelivered: number;
  skippedCancelled: number;
  duplicates: number;
  inflight: number;
}

/** One message being run: the node's outputs are collected, then published as a unit. */
class DeliveryTrace extends TraceState {
  readonly outputs: DoneReply['outputs'] = [];
  readonly forwarded: { target: string; message: Message }[] = [];
  error: PenguiflowError | undefined;
  chunks: Promise<void> = Promise.resolve();

  constructor(
    traceId: string,
    tenant: string,
    round: number,
    readonly replyTo: string,
  ) {
    super(traceId, tenant, round);
  }
}

const DONE_TTL_MS = 24 * 3600_000;

/**
 * Runs a flow's distributed nodes: consumes each node's input edge with a
 * consumer group, runs the node with its policy, sends the outcome to the
 * controller that started the trace, publishes outputs for other distributed
 * nodes, then acks (at-least-once). Child ids are derived from the parent id,
 * so a redelivered message produces the same children and downstream
 * consumers (and the controller) deduplicate on them.
 */
export class Worker implements RunnerHost {
  readonly id: string;
  readonly stats: WorkerStats = { processed: 0, failed: 0, redelivered: 0, skippedCancelled: 0, duplicates: 0, inflight: 0 };
  private readonly flow: Flow;
  private readonly bus: ConsumableBus;
  private readonly store: StateStore | undefined;
  private readonly nodes: string[];
  private readonly maxDeliveries: number;
  private readonly events: EventHub;
  private readonly subscriptions: Subscription[] = [];
  private readonly cancelled = new Map<string, number>();
  private readonly inflight = new Map<string, Set<DeliveryTrace>>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.flow = options.flow;
    this.bus = options.bus;
    this.store = options.store;
    this.id = options.workerId ?? `${hostname()}-${process.pid}-${nextId('w').slice(-4)}`;
    this.maxDeliveries = options.maxDeliveries ?? 5;
    const distributed = [...this.flow.distributedNodes];
    this.nodes = options.nodes ?? distributed;
    if (this.nodes.length === 0) throw new InvalidOptionsError('The flow has no distributed nodes for this worker to run');
    for (const name of this.nodes) {
      if (!this.flow.graph.nodes.has(name)) throw new UnknownNodeError(`The flow has no node named "${name}"`);
      if (!this.flow.distributedNodes.has(name)) throw new InvalidOptionsError(`Node "${name}" is not distributed in this flow`);
    }
    this.events = new EventHub(this.flow.name, [...(options.middlewares ?? [])], this.store, options.recorder, { worker: this.id });
  }

  get name(): string {
    return this.flow.name;
  }
  get listening(): boolean {
    return this.events.listening;
  }
  get stateStore(): StateStore | undefined {
    return this.store;
  }

  /** Subscribes to every hosted node's input edge and to the control channel, and starts heartbeats. */
  async start(): Promise<void> {
    const concurrency = this.options.concurrency ?? 1;
    const leaseMs = this.options.leaseMs ?? 30_000;
    this.subscriptions.push(
      await this.bus.consume(controlTopic(this.flow.name), `control-${this.id}`, (d) => this.onControl(d), {
        consumer: this.id,
        maxDeliveries: 2,
        ephemeral: true, // a broadcast channel: each process reads from now on, and leaves no group behind
      }),
    );
    for (const name of this.nodes) {
      const node = this.flow.graph.nodes.get(name)!;
      const runner = new NodeRunner(this, node, this.flow.graph.successors.get(name)!);
      const sub = await this.bus.consume(workTopic(this.flow.name, name), workGroup(this.flow.name, name), (d) => this.onWork(name, runner, d), {
        consumer: this.id,
        concurrency,
        leaseMs,
        maxDeliveries: this.maxDeliveries,
      });
      this.subscriptions.push(sub);
    }
    await this.beat();
    const every = this.options.heartbeatMs ?? 2_000;
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref?.();
  }

  /** Graceful stop: takes no new work, finishes and acks in-flight work, flushes events, deregisters. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
      await Promise.all(this.subscriptions.map((s) => s.close()));
      await this.events.recorder?.flush();
      if (this.store !== undefined && hasLeaseStore(this.store)) {
        await this.store.releaseLease(this.leaseKey(), this.id).catch(() => undefined);
      }
    })();
    return this.stopping;
  }

  private leaseKey(): string {
    return `worker:${this.flow.name}:${this.id}`;
  }

  private async beat(): Promise<void> {
    const store = this.store;
    if (store === undefined || !hasLeaseStore(store)) return;
    const every = this.options.heartbeatMs ?? 2_000;
    await store
      .acquireLease(this.leaseKey(), this.id, every * 3, {
        flow: this.flow.name,
        nodes: this.nodes,
        host: hostname(),
        pid: process.pid,
        inflight: this.stats.inflight,
        processed: this.stats.processed,
      })
      .catch((error: unknown) => this.events.storeError(error, 0));
  }

  // ------------------------------------------------------------ control

  private async onControl(delivery: Delivery): Promise<void> {
    const command = delivery.envelope.message.payload as ControlCommand;
    if (command?.kind !== 'cancel') return;
    const now = Date.now();
    this.cancelled.set(command.traceId, now + command.ttlMs);
    for (const [id, expiry] of this.cancelled) if (expiry < now) this.cancelled.delete(id);
    const reason = new PenguiflowError('TRACE_CANCELLED', `Trace ${command.traceId} was cancelled`);
    for (const trace of this.inflight.get(command.traceId) ?? []) {
      trace.fireCancel(reason);
    }
  }

  private isCancelled(traceId: string): boolean {
    const expiry = this.cancelled.get(traceId);
    return expiry !== undefined && expiry >= Date.now();
  }

  // ------------------------------------------------------------ work

  private async onWork(node: string, runner: NodeRunner, delivery: Delivery): Promise<void> {
    const envelope = delivery.envelope;
    const msg = envelope.message;
    const replyTo = envelope.attributes?.replyTo;
    const round = Number(envelope.attributes?.round ?? 0);
    if (replyTo === undefined) throw new InvalidOptionsError('A work envelope without attributes.replyTo cannot be answered');
    if (delivery.deliveryCount > 1) {
      this.stats.redelivered++;
      this.event('bus_redelivery', { traceId: msg.traceId, tenant: msg.headers.tenant }, node, { messageId: msg.id, extra: { deliveryCount: delivery.deliveryCount } });
    }
    const doneKey = `done:${this.flow.name}:${node}:${msg.id}`;
    const trace = new DeliveryTrace(msg.traceId, msg.headers.tenant, round, replyTo);

    if (this.isCancelled(msg.traceId)) {
      this.stats.skippedCancelled++;
      this.event('node_trace_cancelled', trace, node, { messageId: msg.id, extra: { worker: this.id, queued: true } });
      return this.reply(trace, node, msg, undefined);
    }
    if (delivery.deliveryCount > 1 && (await this.isDone(doneKey))) {
      this.stats.duplicates++; // ran and answered before the crash that lost its ack
      return;
    }

    const slot = await this.acquireKeySlot(runner, msg);
    trace.pending = 1;
    let set = this.inflight.get(msg.traceId);
    if (set === undefined) this.inflight.set(msg.traceId, (set = new Set()));
    set.add(trace);
    this.stats.inflight++;
    try {
      const running = runner.process(msg, trace);
      if (running !== undefined) await running;
    } finally {
      this.stats.inflight--;
      set.delete(trace);
      if (set.size === 0) this.inflight.delete(msg.traceId);
      if (slot !== undefined) await this.releaseKeySlot(slot);
    }
    await trace.chunks;
    if (trace.cancelled) return this.reply(trace, node, msg, undefined);

    const error = trace.error;
    const redeliver = error !== undefined && error.code !== 'DEADLINE_EXCEEDED' && error.retryable;
    if (redeliver && delivery.deliveryCount < this.maxDeliveries) {
      this.stats.failed++;
      throw error; // the bus redelivers it (to any worker) after a backoff
    }
    await this.reply(trace, node, msg, error);
    await Promise.all(
      trace.forwarded.map(({ target, message }) =>
        this.bus.publish({
          id: message.id,
          topic: workTopic(this.flow.name, target),
          key: message.traceId,
          source: node,
          target,
          message,
          attributes: { replyTo, round: String(round) },
          ...traceparentOf(message),
        }),
      ),
    );
    await this.markDone(doneKey);
    this.stats.processed++;
    if (redeliver) {
      this.stats.failed++;
      this.event('bus_dead_letter', trace, node, { messageId: msg.id, error: error.toJSON(), extra: { deliveryCount: delivery.deliveryCount } });
      throw error; // last delivery: the controller has the error, the bus dead-letters the message
    }
  }

  /*
   * The reply goes out before the children are published: the controller then
   * learns about a child before any reply about that child can reach it.
   */
  private async reply(trace: DeliveryTrace, node: string, msg: Message, error: PenguiflowError | undefined): Promise<void> {
    const reply: DoneReply = {
      kind: 'done',
      source: msg.id,
      node,
      round: trace.round,
      forwarded: trace.cancelled ? [] : trace.forwarded.map((f) => ({ id: f.message.id, target: f.target })),
      outputs: trace.cancelled ? [] : trace.outputs,
    };
    if (error !== undefined) reply.error = error.toJSON();
    await this.publishReply(trace, reply);
  }

  private publishReply(trace: DeliveryTrace, reply: DoneReply | ChunkReply): Promise<void> {
    return this.bus.publish({
      id: nextId('r'),
      topic: replyTopic(this.flow.name, trace.replyTo),
      key: trace.traceId,
      message: { id: nextId('m'), payload: reply, headers: { tenant: trace.tenant }, traceId: trace.traceId, meta: {} },
    });
  }

  /*
   * Keyed concurrency across workers: a message of key K runs only while it
   * holds one of `maxPerKey` slot leases for K. A worker waits for a slot up to
   * half the delivery lease, then hands the message back for later.
   */
  private async acquireKeySlot(runner: NodeRunner, msg: Message): Promise<{ key: string; owner: string } | undefined> {
    const policy = runner.node.policy;
    const store = this.store;
    if (policy.concurrencyKey === undefined) return undefined;
    if (store === undefined || !hasLeaseStore(store)) {
      throw new InvalidOptionsError(`Node "${runner.node.name}" limits concurrency per key across workers: give the worker a store with leases`);
    }
    const key = policy.concurrencyKey(msg);
    const limit = policy.maxPerKey ?? 1;
    const leaseMs = this.options.leaseMs ?? 30_000;
    const owner = `${this.id}/${msg.id}`;
    const giveUpAt = Date.now() + leaseMs / 2;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      for (let i = 0; i < limit; i++) {
        const slot = `slot:${this.flow.name}:${runner.node.name}:${key}:${i}`;
        if (await store.acquireLease(slot, owner, leaseMs)) return { key: slot, owner };
      }
      if (Date.now() >= giveUpAt) {
        throw new PenguiflowError('LOAD_SHED', `No free slot for key ${JSON.stringify(key)} on node "${runner.node.name}"; handed back`, {
          retryable: true,
        });
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async releaseKeySlot(slot: { key: string; owner: string }): Promise<void> {
    const store = this.store;
    if (store !== undefined && hasLeaseStore(store)) await store.releaseLease(slot.key, slot.owner).catch(() => undefined);
  }

  private async isDone(key: string): Promise<boolean> {
    const store = this.store;
    if (store === undefined || !hasLeaseStore(store)) return false;
    const lease = await store.getLease(key).catch(() => undefined);
    return lease !== undefined && lease.expiresAt > Date.now();
  }

  private async markDone(key: string): Promise<void> {
    const store = this.store;
    if (store === undefined || !hasLeaseStore(store)) return;
    await store.acquireLease(key, 'done', DONE_TTL_MS).catch((error: unknown) => this.events.storeError(error, 0));
  }

  // ------------------------------------------------------------ RunnerHost

  trace(): TraceState | undefined {
    return undefined; // every delivery passes its own trace state to the runner
  }

  release(trace: TraceState): void {
    trace.pending--;
  }

  deliver(trace: TraceState, output: FlowOutput): void {
    const t = trace as DeliveryTrace;
    if (output.kind === 'result') t.outputs.push({ target: null, message: output.message });
    else if (output.kind === 'error') t.error ??= output.error;
    else {
      const chunk: ChunkReply = { kind: 'chunk', round: t.round, chunk: output.message };
      t.chunks = t.chunks.then(() => this.publishReply(t, chunk)).catch((error: unknown) => this.events.busError(error, output.message));
    }
  }

  enqueue(target: string, msg: Message, trace: TraceState): undefined {
    const t = trace as DeliveryTrace;
    if (this.flow.distributedNodes.has(target)) t.forwarded.push({ target, message: msg });
    else t.outputs.push({ target, message: msg });
    return undefined;
  }

  queueDepth(): undefined {
    return undefined; // the broker holds this node's queue (see the bus lag metrics)
  }

  backpressure(): undefined {
    return undefined;
  }

  durablePoint(): Promise<void> | undefined {
    return undefined;
  }

  childId(parent: Message, node: string, index: number): string {
    return `${parent.id}.${node}.${index}`;
  }

  event(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: EventFields): void {
    this.events.emit(type, trace, node, fields);
  }
}

/**
 * Starts a worker for a flow's distributed nodes.
 *
 * @example
 * const worker = await runWorker({ flow, bus: createRedisMessageBus({ url }), store, concurrency: 8 });
 * process.on('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
 */
export async function runWorker(options: WorkerOptions): Promise<Worker> {
  const worker = new Worker(options);
  await worker.start();
  return worker;
}
