import {
  FlowStateError,
  InvalidOptionsError,
  QueueFullError,
  TraceCancelledError,
  UnknownNodeError,
  InvalidMessageError,
} from '../errors/index.js';
import type { ConsumableBus, MessageBus } from '../protocols/message-bus.js';
import type { StateStore, StoredEvent } from '../protocols/state-store.js';
import type { FlowEventType, FlowMiddleware } from './events.js';
import { buildGraph, type FlowGraph } from './graph.js';
import { nextId } from './ids.js';
import { Mailbox, type FlowOutput } from './mailbox.js';
import { readOutputs, readResult } from './mailbox-readers.js';
import { assertValidMessage, type Message } from './message.js';
import type { EdgeSpec, Node } from './node.js';
import { BoundedQueue, CLOSED } from './queue.js';
import type { EventRecorder } from './recorder.js';
import { EventHub } from './event-hub.js';
import { NodeRunner } from './runner.js';
import type { EventFields, RunnerHost } from './runner-host.js';
import type { FetchOptions, FlowOptions, FlowStats, Placement } from './flow-options.js';

export type { FetchOptions, FlowOptions, FlowStats, Placement };
import { TraceState } from './trace.js';
import { UrlBus } from './url-bus.js';
import { RemoteEdges, traceparentOf, type ControllerHost, type DistributedOptions } from './remote-edges.js';

type State = 'created' | 'running' | 'stopping' | 'stopped';

const MAX_BUS_INFLIGHT = 1_000;

/**
 * A running graph of nodes. Build it with {@link createFlow}.
 *
 * @example
 * const flow = createFlow(fetchDocs.to(summarize), { stateStore });
 * flow.run();
 * await flow.emit(message({ q: 'penguins' }, { tenant: 'acme' }));
 * const answer = await flow.fetch({ traceId });
 * await flow.stop();
 */
export class Flow implements RunnerHost, ControllerHost {
  readonly name: string;
  readonly graph: FlowGraph;
  readonly stateStore: StateStore | undefined;
  private state: State = 'created';
  /** @internal */ readonly queues = new Map<string, BoundedQueue<Message>>();
  private readonly runners = new Map<string, NodeRunner>();
  /** One mailbox per trace id with outputs, readers or running work; `active` holds the live trace. */
  private readonly mailboxes = new Map<string, Mailbox>();
  private activeTraces = 0;
  private readonly events: EventHub;
  private readonly recorder: EventRecorder | undefined;
  private readonly bus: MessageBus | undefined;
  private readonly maxRetainedTraces: number;
  /** @internal */ listening: boolean;
  private workers: Promise<void>[] = [];
  private drainWaiters: (() => void)[] = [];
  private busInflight = 0;
  private busWaiters: (() => void)[] = [];
  /** Nodes that run on workers, not in this process. */
  readonly distributedNodes: ReadonlySet<string>;
  private distributedOptions: DistributedOptions | undefined;
  private ownedBus: UrlBus | undefined;
  private remote: RemoteEdges | undefined;
  private starting: Promise<void> | undefined;

  constructor(specs: readonly (EdgeSpec | Node)[], options: FlowOptions = {}) {
    const queueSize = options.queueSize ?? 64;
    if (!Number.isInteger(queueSize) || queueSize < 1) throw new InvalidOptionsError('queueSize must be an integer >= 1');
    this.name = options.name ?? 'flow';
    this.graph = buildGraph(specs, options.allowCycles ?? false);
    this.stateStore = options.stateStore;
    this.bus = options.bus;
    this.events = new EventHub(this.name, [...(options.middlewares ?? [])], options.stateStore, options.recorder);
    this.recorder = this.events.recorder;
    this.maxRetainedTraces = options.maxRetainedTraces ?? 10_000;
    this.listening = this.events.listening;
    const distributed = new Set<string>();
    for (const [name, n] of this.graph.nodes) {
      const placement = options.placement?.[name] ?? n.policy.placement ?? 'local';
      if (placement === 'distributed') distributed.add(name);
      this.queues.set(name, new BoundedQueue(queueSize));
      this.runners.set(name, new NodeRunner(this, n, this.graph.successors.get(name)!));
    }
    for (const name of Object.keys(options.placement ?? {})) {
      if (!this.graph.nodes.has(name)) throw new UnknownNodeError(`placement names "${name}", but the flow has no node of that name`);
    }
    this.distributedNodes = distributed;
    this.distributedOptions = options.distributed;
  }

  /** @internal The node runner of `name` (workers run nodes through it). */
  runnerOf(name: string): NodeRunner | undefined {
    return this.runners.get(name);
  }

  /**
   * Starts the node workers (local nodes only; distributed ones run on
   * workers). Throws FLOW_STATE when called twice. With distributed nodes,
   * `emit` waits until the reply channel is subscribed; `await flow.ready()`
   * waits for it explicitly.
   */
  run(options: { distributed?: DistributedOptions } = {}): void {
    if (this.state !== 'created') throw new FlowStateError(`run() was already called (flow is ${this.state})`);
    const distributed = options.distributed ?? this.distributedOptions;
    if (this.distributedNodes.size > 0) {
      if (distributed === undefined) {
        throw new InvalidOptionsError(`Nodes ${[...this.distributedNodes].join(', ')} are distributed: pass { distributed: { bus } }`);
      }
      if (typeof distributed.bus === 'string') this.ownedBus = new UrlBus(distributed.bus);
      this.remote = new RemoteEdges(this, this.distributedNodes, { ...distributed, bus: this.ownedBus ?? (distributed.bus as ConsumableBus) });
      this.starting = this.remote.start();
      this.starting.catch(() => undefined);
    }
    this.state = 'running';
    for (const [name, runner] of this.runners) {
      if (this.distributedNodes.has(name)) continue;
      const queue = this.queues.get(name)!;
      for (let i = 0; i < runner.concurrency; i++) this.workers.push(this.work(runner, queue));
    }
  }

  /**
   * Adds a middleware to a flow built elsewhere (e.g. loaded from a module by
   * `penguiflow serve`), before `run()`.
   */
  use(middleware: FlowMiddleware): this {
    if (this.state !== 'created') throw new FlowStateError('use() must come before run()');
    this.events.use(middleware);
    this.listening = true;
    return this;
  }

  /** Resolves once the flow can take messages (its distributed reply channel is subscribed). */
  async ready(): Promise<void> {
    if (this.starting !== undefined) await this.starting;
  }

  private async work(runner: NodeRunner, queue: BoundedQueue<Message>): Promise<void> {
    for (;;) {
      let msg = queue.tryTake();
      if (msg === undefined) {
        const next = await queue.take();
        if (next === CLOSED) return;
        msg = next;
      }
      const keyed = runner.keyed;
      if (keyed !== undefined && !keyed.admit(msg)) continue; // parked until its key has a free slot
      for (let next: Message | undefined = msg; next !== undefined; next = keyed?.release(next)) {
        const running = runner.process(next);
        if (running !== undefined) await running;
      }
      if (this.recorder?.isFull) await this.recorder.waitForSpace();
    }
  }

  // ---------------------------------------------------------------- ingress

  /** Sends a message into the flow (to the entry nodes, or `to`), waiting while the queue is full. */
  async emit(msg: Message, options?: { to?: string }): Promise<void> {
    const targets = this.ingress(msg, options);
    if (this.starting !== undefined) await this.starting;
    const trace = this.openTrace(msg);
    try {
      for (let i = 0; i < targets.length; i++) {
        const wait = this.enqueue(targets[i]!, i === 0 ? msg : { ...msg, id: nextId('m') }, trace, undefined);
        if (wait !== undefined) await wait;
      }
    } catch (error) {
      // Refused at the edge (e.g. LOAD_SHED): a trace that got no work must not stay open.
      trace.failed = true;
      this.endIfIdle(trace);
      throw error;
    }
  }

  /** Like {@link emit} but never waits: throws QUEUE_FULL when an entry queue is full. */
  tryEmit(msg: Message, options?: { to?: string }): void {
    const targets = this.ingress(msg, options);
    if (this.remote !== undefined) throw new FlowStateError('tryEmit is not available on a flow with distributed nodes; use emit');
    for (const target of targets) {
      if (this.queues.get(target)!.isFull) {
        throw new QueueFullError(`The input queue of node "${target}" is full`, { details: { node: target } });
      }
    }
    const trace = this.openTrace(msg);
    for (let i = 0; i < targets.length; i++) {
      this.track(trace);
      this.queues.get(targets[i]!)!.tryPut(i === 0 ? msg : { ...msg, id: nextId('m') });
    }
  }

  private ingress(msg: Message, options: { to?: string } | undefined): readonly string[] {
    if (this.state !== 'running') throw new FlowStateError(`Cannot emit: the flow is ${this.state}`);
    assertValidMessage(msg);
    if (options?.to === undefined) return this.graph.entries;
    if (!this.graph.nodes.has(options.to)) throw new UnknownNodeError(`No node named "${options.to}"`);
    return [options.to];
  }

  private openTrace(msg: Message): TraceState {
    let mailbox = this.mailboxes.get(msg.traceId);
    if (mailbox === undefined) {
      mailbox = new Mailbox(msg.traceId, this.dispose);
      this.mailboxes.set(msg.traceId, mailbox);
      if (this.mailboxes.size > this.maxRetainedTraces) this.evictMailboxes();
    } else if (mailbox.active !== undefined) {
      if (mailbox.active.tenant !== msg.headers.tenant) {
        throw new InvalidMessageError('This trace id belongs to another tenant', { details: { field: 'traceId' } });
      }
      return mailbox.active;
    }
    const trace = new TraceState(msg.traceId, msg.headers.tenant, ++mailbox.rounds);
    mailbox.active = trace;
    this.activeTraces++;
    return trace;
  }

  private evictMailboxes(): void {
    for (const [traceId, mailbox] of this.mailboxes) {
      if (this.mailboxes.size <= this.maxRetainedTraces) return;
      if (mailbox.active === undefined) this.mailboxes.delete(traceId);
    }
  }

  // ---------------------------------------------------------------- edges (used by NodeRunner)

  /** @internal Counts a message as pending for its trace. */
  track(trace: TraceState): void {
    trace.pending++;
  }

  /** @internal Puts a message on a node's queue; returns a promise only when it has to wait for space. */
  enqueue(target: string, msg: Message, trace: TraceState, source: string | undefined): Promise<void> | undefined {
    if (this.remote !== undefined && this.remote.nodes.has(target)) return this.remote.send(target, msg, trace, source);
    this.track(trace);
    if (this.bus !== undefined) this.publishCopy(source, target, msg);
    const queue = this.queues.get(target)!;
    return queue.tryPut(msg) ? undefined : queue.put(msg);
  }

  /** @internal A message finished (ran, was dropped or skipped). */
  release(trace: TraceState): void {
    trace.pending--;
    if (trace.pending === 0) this.endIfIdle(trace);
  }

  private endIfIdle(trace: TraceState): void {
    if (trace.ended || trace.pending > 0 || (trace.remote !== undefined && trace.remote.size > 0)) return;
    trace.ended = true;
    this.traceIdle(trace);
    if (this.activeTraces === 0 && this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** @internal ControllerHost: the live trace of an id. */
  activeTrace(traceId: string): TraceState | undefined {
    return this.mailboxes.get(traceId)?.active;
  }

  /** @internal ControllerHost: a worker sent a message to a node of this process. */
  enqueueLocal(target: string, msg: Message, trace: TraceState): Promise<void> | undefined {
    this.track(trace);
    const queue = this.queues.get(target);
    if (queue === undefined) throw new UnknownNodeError(`No node named "${target}"`);
    return queue.tryPut(msg) ? undefined : queue.put(msg);
  }

  /** @internal ControllerHost: counts remote messages in and out; the trace ends when none is outstanding. */
  settleRemote(trace: TraceState, id: string, delta: number): void {
    if (trace.ended) return;
    trace.remote ??= new Map();
    const count = (trace.remote.get(id) ?? 0) + delta;
    if (count === 0) trace.remote.delete(id);
    else trace.remote.set(id, count);
    if (delta < 0) this.endIfIdle(trace);
  }

  /** @internal */
  trace(traceId: string): TraceState | undefined {
    return this.mailboxes.get(traceId)?.active;
  }

  /** @internal Delivers an output to whoever fetches the trace. */
  deliver(trace: TraceState, output: FlowOutput): void {
    if (output.kind === 'chunk' && !trace.acceptChunk(output.message.payload)) return;
    this.mailboxes.get(trace.traceId)?.push({ output, round: trace.round });
  }

  private traceIdle(trace: TraceState): void {
    clearTimeout(trace.deadlineTimer);
    const mailbox = this.mailboxes.get(trace.traceId);
    if (mailbox !== undefined && mailbox.active === trace) mailbox.active = undefined;
    this.activeTraces--;
    if (trace.cancelled) this.event('trace_cancel_finish', trace);
    this.event('trace_complete', trace, undefined, { extra: { status: trace.status } });
    if (trace.cancelled) for (const w of trace.cancelWaiters ?? []) w();
    if (mailbox !== undefined) {
      mailbox.push({ output: null, round: trace.round });
      if (mailbox.isDisposable) this.dispose(mailbox);
    }
  }

  private publishCopy(source: string | undefined, target: string, msg: Message): void {
    const bus = this.bus!;
    this.busInflight++;
    bus
      .publish({ id: msg.id, topic: `${this.name}.${target}`, key: msg.traceId, source, target, message: msg, ...traceparentOf(msg) })
      .catch((error: unknown) => this.events.busError(error, msg))
      .finally(() => {
        this.busInflight--;
        if (this.busInflight < MAX_BUS_INFLIGHT) this.busWaiters.shift()?.();
      });
  }

  /** @internal */
  queueDepth(node: string): number | undefined {
    return this.queues.get(node)?.size;
  }

  /** @internal Bounds copies in flight to a slow bus. */
  backpressure(): Promise<void> | undefined {
    if (this.busInflight < MAX_BUS_INFLIGHT) return undefined;
    return new Promise((resolve) => this.busWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- egress

  /**
   * Resolves with the next result of the trace; rejects with the typed error
   * of a failed node, TRACE_CANCELLED, DEADLINE_EXCEEDED, or NO_RESULT when the
   * trace ran out of work without a result. Stream chunks are skipped (see {@link outputs}).
   */
  fetch(options: FetchOptions): Promise<Message> {
    if (typeof options?.traceId !== 'string') return Promise.reject(new InvalidOptionsError('fetch() needs { traceId }'));
    return readResult(this.mailboxFor(options.traceId), options);
  }

  /**
   * Every output of the trace in order (chunks, results, errors); ends when the
   * trace has no work left.
   */
  async *outputs(traceId: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<FlowOutput, void, undefined> {
    const mailbox = this.mailboxFor(traceId);
    try {
      yield* readOutputs(mailbox, options.signal);
    } finally {
      if (mailbox.isDisposable) this.dispose(mailbox);
    }
  }

  private mailboxFor(traceId: string): Mailbox {
    let mailbox = this.mailboxes.get(traceId);
    if (mailbox === undefined) {
      mailbox = new Mailbox(traceId, this.dispose);
      this.mailboxes.set(traceId, mailbox);
    }
    return mailbox;
  }

  private readonly dispose = (mailbox: Mailbox): void => {
    if (this.mailboxes.get(mailbox.traceId) === mailbox) this.mailboxes.delete(mailbox.traceId);
  };

  /**
   * Emits and waits for the first result: one round trip. `deadlineMs` sets
   * the message's deadline that far from now (the earlier one wins when it
   * already has one): past it the call rejects with DEADLINE_EXCEEDED, even
   * when no worker is there to run a distributed node.
   */
  async call(msg: Message, options?: { signal?: AbortSignal; timeoutMs?: number; deadlineMs?: number }): Promise<Message> {
    if (options?.deadlineMs !== undefined) {
      const deadline = Date.now() + options.deadlineMs;
      if (msg.deadline === undefined || deadline < msg.deadline) msg = { ...msg, deadline };
    }
    const result = this.fetch({ traceId: msg.traceId, signal: options?.signal, timeoutMs: options?.timeoutMs });
    try {
      await this.emit(msg);
    } catch (error) {
      result.catch(() => undefined);
      throw error;
    }
    return result;
  }

  // ---------------------------------------------------------------- cancel and stop

  /**
   * Cancels a trace: drops its queued messages, aborts its running nodes'
   * signals, and resolves `true` once it has no work left. `false` when the
   * trace is unknown, finished, or already being cancelled.
   */
  async cancel(traceId: string): Promise<boolean> {
    if (this.state === 'created') throw new FlowStateError('cancel() needs a running flow: call run() first');
    const trace = this.mailboxes.get(traceId)?.active;
    if (trace === undefined || trace.cancelled) return false;
    trace.cancelled = true;
    this.event('trace_cancel_start', trace, undefined, { tracePending: trace.pending, traceInflight: trace.inflight });
    const finished = new Promise<void>((resolve) => (trace.cancelWaiters = [resolve]));
    let dropped = 0;
    const ofTrace = (m: Message) => m.traceId === traceId;
    for (const queue of this.queues.values()) dropped += queue.removeWhere(ofTrace).length;
    for (const runner of this.runners.values()) dropped += runner.keyed?.drop(ofTrace) ?? 0;
    if (dropped > 0) this.event('trace_cancel_drop', trace, undefined, { extra: { dropped } });
    const reason = new TraceCancelledError(`Trace ${traceId} was cancelled`, { details: { traceId } });
    this.deliver(trace, { kind: 'error', error: reason });
    trace.fireCancel(reason);
    if (trace.remote !== undefined) {
      // Workers are told to drop and abort the trace; their late replies are ignored.
      for (const id of trace.remote.keys()) this.remote?.untrack(id);
      trace.remote.clear();
      await this.remote?.cancel(traceId, trace.tenant).catch((error: unknown) => this.events.busError(error, undefined));
    }
    for (let i = 0; i < dropped; i++) this.release(trace);
    this.endIfIdle(trace);
    await finished;
    return true;
  }

  /**
   * Graceful stop: refuses new messages, lets every queued and running
   * message finish (up to `timeoutMs`, default 30 s, then cancels what is
   * left), stops the workers and flushes the event recorder. Closes a bus
   * the flow opened from a URL (`run({ distributed: { bus: 'redis://…' } })`);
   * a bus or store object you passed in is yours to close.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    if (this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    if (this.activeTraces > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = new Promise<boolean>((resolve) => this.drainWaiters.push(() => resolve(true)));
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.timeoutMs ?? 30_000)));
      const ok = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (!ok) {
        const live = [...this.mailboxes.values()].filter((m) => m.active !== undefined).map((m) => m.traceId);
        await Promise.all(live.map((id) => this.cancel(id)));
      }
    }
    for (const queue of this.queues.values()) queue.close();
    await Promise.all(this.workers);
    await this.remote?.stop();
    await this.ownedBus?.close(); // only a bus the flow opened from a URL; a bus object passed in stays open
    await this.recorder?.flush();
    this.state = 'stopped';
  }

  /** Waits until every recorded event is written to the state store. */
  async flush(): Promise<void> {
    await this.recorder?.flush();
  }

  /** The recorded events of a trace, oldest first (flushes first). `tenant` scopes the read. */
  async history(traceId: string, options: { tenant?: string } = {}): Promise<StoredEvent[]> {
    if (this.stateStore === undefined) throw new FlowStateError('history() needs a stateStore');
    await this.flush();
    return this.stateStore.loadHistory(traceId, { tenant: options.tenant ?? null });
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** True while the trace has work queued or running. */
  isTraceActive(traceId: string): boolean {
    return this.mailboxes.get(traceId)?.active !== undefined;
  }

  get stats(): FlowStats {
    return { store: this.recorder?.stats, ...this.events.counters, activeTraces: this.activeTraces };
  }

  // ---------------------------------------------------------------- events

  /** @internal In-process messages never run twice, so child ids need not be deterministic. */
  childId(): undefined {
    return undefined;
  }

  /** @internal In sync durability: resolves when every event so far is committed. */
  durablePoint(): Promise<void> | undefined {
    return this.events.durablePoint();
  }

  /** @internal Emits a FlowEvent to middlewares and the recorder. */
  event(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: EventFields): void {
    this.events.emit(type, trace, node, fields);
  }
}

/**
 * Builds a flow from nodes and edges.
 *
 * @example
 * const flow = createFlow(split.to(left, right), left.to(join), right.to(join), { queueSize: 128 });
 */
export function createFlow(...args: (EdgeSpec | Node | FlowOptions)[]): Flow {
  const last = args.at(-1);
  const isSpec = (x: unknown) => x !== null && typeof x === 'object' && ('fn' in x || ('from' in x && 'to' in x));
  const hasOptions = last !== undefined && !isSpec(last);
  const specs = (hasOptions ? args.slice(0, -1) : args) as (EdgeSpec | Node)[];
  return new Flow(specs, hasOptions ? (last) : {});
}
