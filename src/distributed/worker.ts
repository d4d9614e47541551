import { hostname } from 'node:os';
import { BusUnavailableError, findPenguiflowError, FlowStoppedError, InvalidOptionsError, LeaseExpiredError, PenguiflowError, UnknownNodeError } from '../errors/index.js';
import { backoffDelay, type BackoffPolicy } from '../core/backoff.js';
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
import type { ConsumableBus, Delivery, FencedOperation, Subscription } from '../protocols/message-bus.js';
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
  /** Where connection retries are told (any pino-compatible logger; `penguiflow worker` prints them). */
  logger?: WorkerLogger;
}

/** The part of a pino-compatible logger a worker uses. */
export interface WorkerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface WorkerStats {
  processed: number;
  failed: number;
  redelivered: number;
  skippedCancelled: number;
  duplicates: number;
  /** Operations refused because a delivery's lease was lost (another worker may hold it). */
  leaseLost: number;
  inflight: number;
}

/** One message being run: the node's outputs are collected, then published as a unit. */
class DeliveryTrace extends TraceState {
  readonly outputs: DoneReply['outputs'] = [];
  readonly forwarded: { target: string; message: Message }[] = [];
  error: PenguiflowError | undefined;
  chunks: Promise<void> = Promise.resolve();
  /** A stream chunk could not be published: the run's output is incomplete. */
  chunkFailure: PenguiflowError | undefined;

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
const DEFAULT_REDELIVERY_BACKOFF: BackoffPolicy = { baseMs: 500, multiplier: 2, maxMs: 30_000, jitter: 0.2 };
const CONNECT_BACKOFF: BackoffPolicy = { baseMs: 250, multiplier: 2, maxMs: 5_000, jitter: 0.2 };

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
  readonly stats: WorkerStats = { processed: 0, failed: 0, redelivered: 0, skippedCancelled: 0, duplicates: 0, leaseLost: 0, inflight: 0 };
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
  /** True once every subscription is open (readiness). */
  ready = false;

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

  /**
   * Subscribes to every hosted node's input edge and to the control channel,
   * and starts heartbeats. A broker that cannot be reached is retried with a
   * bounded backoff (a `warn` line per attempt) until it answers or `stop()`
   * is called: a worker started before its broker waits for it.
   */
  async start(): Promise<void> {
    const concurrency = this.options.concurrency ?? 1;
    const leaseMs = this.options.leaseMs ?? 30_000;
    this.subscriptions.push(
      await this.subscribe(controlTopic(this.flow.name), () =>
        this.bus.consume(controlTopic(this.flow.name), `control-${this.id}`, (d) => this.onControl(d), {
          consumer: this.id,
          maxDeliveries: 2,
          ephemeral: true, // a broadcast channel: each process reads from now on, and leaves no group behind
        }),
      ),
    );
    for (const name of this.nodes) {
      const node = this.flow.graph.nodes.get(name)!;
      const runner = new NodeRunner(this, node, this.flow.graph.successors.get(name)!);
      const topic = workTopic(this.flow.name, name);
      const sub = await this.subscribe(topic, () =>
        this.bus.consume(topic, workGroup(this.flow.name, name), (d) => this.onWork(name, runner, d), {
          consumer: this.id,
          concurrency,
          leaseMs,
          maxDeliveries: this.maxDeliveries,
          onExhausted: (d) => this.onExhausted(name, d),
          onLeaseLost: (d, operation) => this.onLeaseLost(name, d, operation),
        }),
      );
      this.subscriptions.push(sub);
    }
    this.ready = true;
    await this.beat();
    const every = this.options.heartbeatMs ?? 2_000;
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref?.();
  }

  /** Opens one subscription, retrying while the broker is unreachable. */
  private async subscribe(topic: string, open: () => Promise<Subscription>): Promise<Subscription> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopping !== undefined) throw new FlowStoppedError('The worker was stopped before it connected');
      try {
        return await open();
      } catch (error) {
        const pf = findPenguiflowError(error);
        if (pf !== undefined && !pf.retryable) throw error;
        const delayMs = backoffDelay(CONNECT_BACKOFF, Math.min(attempt, 10));
        this.events.busError(error, undefined);
        this.options.logger?.warn(
          { worker: this.id, topic, attempt: attempt + 1, retryInMs: delayMs, code: pf?.code, error: pf?.message ?? String(error) },
          'bus not reachable; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
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
    if (replyTo === undefined) {
      await delivery.deadLetter(new InvalidOptionsError('A work envelope without attributes.replyTo cannot be answered'));
      return;
    }
    if (delivery.deliveryCount > 1) {
      this.stats.redelivered++;
      this.event('bus_redelivery', { traceId: msg.traceId, tenant: msg.headers.tenant }, node, { messageId: msg.id, extra: { deliveryCount: delivery.deliveryCount } });
    }
    const doneKey = this.doneKey(node, msg.id);
    const trace = new DeliveryTrace(msg.traceId, msg.headers.tenant, round, replyTo);

    if (this.isCancelled(msg.traceId)) {
      this.stats.skippedCancelled++;
      this.event('node_trace_cancelled', trace, node, { messageId: msg.id, extra: { worker: this.id, queued: true } });
      return this.reply(trace, node, msg, undefined);
    }
    // Every delivery, not only redeliveries: a duplicate publish of a finished
    // message (a retried or late send) arrives as a first delivery.
    if (await this.isDone(doneKey)) return this.skipDuplicate(node, msg, delivery);

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

    // a chunk the reader never got: run it again (the reader drops the seqs it already has)
    const error = trace.chunkFailure ?? trace.error;
    const redeliver = error !== undefined && error.code !== 'DEADLINE_EXCEEDED' && error.retryable;
    if (redeliver && delivery.deliveryCount < this.maxDeliveries) {
      this.stats.failed++;
      // the bus hands it to any worker after a backoff; the trace has not seen this attempt
      await delivery.nack(error, backoffDelay(runner.node.policy.redeliveryBackoff ?? DEFAULT_REDELIVERY_BACKOFF, delivery.deliveryCount - 1));
      return;
    }
    if (!redeliver) this.stats.processed++;
    await this.reply(trace, node, msg, error);
    await this.publishForwarded(trace, node);
    if (redeliver) {
      // Out of deliveries: the controller has the error; the message waits in
      // the dead letters, and no done-marker is written, so `dlq retry` runs it again.
      this.stats.failed++;
      this.event('bus_dead_letter', trace, node, { messageId: msg.id, error: error.toJSON(), extra: { deliveryCount: delivery.deliveryCount } });
      await delivery.deadLetter(error);
      return;
    }
    await this.markDone(doneKey);
  }

  private doneKey(node: string, messageId: string): string {
    return `done:${this.flow.name}:${node}:${messageId}`;
  }

  /** Ran and answered before (a lost ack, a redelivery, a duplicate publish): ack without running. */
  private async skipDuplicate(node: string, msg: Message, delivery: Delivery): Promise<void> {
    this.stats.duplicates++;
    this.event('bus_duplicate', { traceId: msg.traceId, tenant: msg.headers.tenant }, node, {
      messageId: msg.id,
      extra: { deliveryCount: delivery.deliveryCount },
    });
    await delivery.ack();
  }

  /**
   * A delivery whose lease ran out on every earlier delivery (each holder
   * stopped renewing: killed, or its event loop stalled). Done → ack; else the
   * trace is told LEASE_EXPIRED and the message goes to the dead letters.
   */
  private async onExhausted(node: string, delivery: Delivery): Promise<void> {
    const msg = delivery.envelope.message;
    if (await this.isDone(this.doneKey(node, msg.id))) return this.skipDuplicate(node, msg, delivery);
    const error = new LeaseExpiredError(`Message ${msg.id} of node "${node}" lost its lease on ${this.maxDeliveries} deliveries`, {
      details: { node, deliveries: this.maxDeliveries },
    });
    const replyTo = delivery.envelope.attributes?.replyTo;
    const trace = new DeliveryTrace(msg.traceId, msg.headers.tenant, Number(delivery.envelope.attributes?.round ?? 0), replyTo ?? '');
    if (replyTo !== undefined) await this.reply(trace, node, msg, error);
    this.stats.failed++;
    this.event('bus_dead_letter', trace, node, { messageId: msg.id, error: error.toJSON(), extra: { deliveryCount: delivery.deliveryCount } });
    await delivery.deadLetter(error);
  }

  private onLeaseLost(node: string, delivery: Delivery, operation: FencedOperation): void {
    this.stats.leaseLost++;
    const msg = delivery.envelope.message;
    this.event('bus_lease_lost', { traceId: msg.traceId, tenant: msg.headers.tenant }, node, {
      messageId: msg.id,
      extra: { operation, deliveryCount: delivery.deliveryCount, worker: this.id },
    });
  }

  private async publishForwarded(trace: DeliveryTrace, node: string): Promise<void> {
    await Promise.all(
      trace.forwarded.map(({ target, message }) =>
        this.bus.publish({
          id: message.id,
          topic: workTopic(this.flow.name, target),
          key: message.traceId,
          source: node,
          target,
          message,
          attributes: { replyTo: trace.replyTo, round: String(trace.round) },
          ...traceparentOf(message),
        }),
      ),
    );
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
      if (!t.acceptChunk(output.message.payload)) return; // a retried attempt repeats what it streamed
      const chunk: ChunkReply = { kind: 'chunk', round: t.round, chunk: output.message };
      t.chunks = t.chunks
        .then(() => this.publishReply(t, chunk))
        .catch((error: unknown) => {
          this.events.busError(error, output.message);
          t.chunkFailure ??= findPenguiflowError(error) ?? new BusUnavailableError('A stream chunk could not be published', { cause: error });
        });
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
