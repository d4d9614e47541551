import { BusUnavailableError, DecodeFailedError } from '../../errors/index.js';
import type {
  BusEnvelope,
  ConsumableBus,
  ConsumeOptions,
  DeadLetter,
  Delivery,
  Subscription,
} from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { bytesToBase64, decodeEnvelope, jsonSerializer } from '../../distributed/codec.js';
import {
  ConsumerSlots,
  createDelivery,
  errorSummary,
  resolveConsumeOptions,
  type ResolvedConsumeOptions,
} from '../../distributed/bus-consumer.js';

export interface InMemoryMessageBusOptions {
  /** Envelopes are serialised on publish so consumers get a copy, as on a real broker. Default: JSON codec. */
  serializer?: Serializer;
  /** Retained envelopes per topic that no group has read yet are capped here (oldest dropped). Default 100,000. */
  maxRetained?: number;
}

interface Job {
  seq: number;
  bytes: Uint8Array;
  deliveryCount: number;
  availableAt: number;
  lastError?: { code: string; message: string };
  /** Changes on every delivery so a stale ack/nack from an expired lease is ignored. */
  token: number;
  leaseTimer?: ReturnType<typeof setTimeout>;
}

interface Consumer {
  options: ResolvedConsumeOptions;
  slots: ConsumerSlots;
  handler: (delivery: Delivery) => Promise<void>;
  open: boolean;
  group: GroupState;
  /** Its connection's serializer: each process decodes with its own. */
  serializer: Serializer;
  /** Its connection crashed: nothing it does reaches the broker. */
  crashed?: boolean;
}

interface GroupState {
  name: string;
  ephemeral: boolean;
  /** Next unread position in the topic log (absolute sequence). */
  cursor: number;
  ready: Job[];
  pending: Map<number, Job>;
  consumers: Consumer[];
  nextConsumer: number;
  wakeTimer?: ReturnType<typeof setTimeout>;
}

/** What every connection of one in-process broker shares. */
interface SharedBroker {
  topics: Map<string, TopicState>;
  published: BusEnvelope[];
  listeners: Set<(envelope: BusEnvelope) => void>;
  seq: number;
  tokens: number;
  /** Connections not closed yet. */
  open: number;
}

interface TopicState {
  /** log[i] has sequence `base + i`. */
  log: Uint8Array[];
  base: number;
  groups: Map<string, GroupState>;
  dead: (DeadLetter & { group: string; bytes: Uint8Array })[];
}

/**
 * The reference {@link ConsumableBus}, in process: consumer groups, leases
 * with redelivery, delivery counts, dead letters and draining close, with the
 * same semantics as the broker adapters. Every published envelope stays
 * observable in {@link published} for tests.
 *
 * A new group starts from the oldest retained envelope of its topic.
 *
 * @example
 * const bus = new InMemoryMessageBus();
 * await bus.consume('summarize', 'workers', async (d) => { console.log(d.envelope.id) });
 * await bus.publish({ id: 'e1', topic: 'summarize', message });
 */
export class InMemoryMessageBus implements ConsumableBus {
  private shared: SharedBroker = { topics: new Map(), published: [], listeners: new Set(), seq: 0, tokens: 0, open: 1 };
  private readonly subscriptions = new Set<Subscription>();
  private readonly consumers = new Set<Consumer>();
  private readonly serializer: Serializer;
  private readonly maxRetained: number;
  private closed = false;

  constructor(options: InMemoryMessageBusOptions = {}) {
    this.serializer = options.serializer ?? jsonSerializer;
    this.maxRetained = options.maxRetained ?? 100_000;
  }

  /** Every envelope published, in order (the caller's objects), by any connection. */
  get published(): BusEnvelope[] {
    return this.shared.published;
  }

  /**
   * Another client of the same in-process broker, as a second process would
   * open: its own consumers and close, the same topics, groups and leases.
   */
  connect(options: { serializer?: Serializer } = {}): InMemoryMessageBus {
    const other = new InMemoryMessageBus({ serializer: options.serializer ?? this.serializer, maxRetained: this.maxRetained });
    other.shared = this.shared;
    this.shared.open++;
    return other;
  }

  /**
   * Test seam: this connection behaves as if its process was SIGKILLed.
   * Nothing it holds is renewed, acked or handed back any more; its leases
   * run out and the work goes to the broker's other connections.
   */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    this.shared.open--;
    for (const consumer of this.consumers) {
      consumer.crashed = true;
      consumer.open = false;
      consumer.group.consumers = consumer.group.consumers.filter((c) => c !== consumer);
    }
  }

  /** Envelopes published to `topic` so far. */
  publishedTo(topic: string): BusEnvelope[] {
    return this.shared.published.filter((e) => e.topic === topic);
  }

  /** Calls `listener` with every envelope published from now on; returns an unsubscribe function. */
  onPublish(listener: (envelope: BusEnvelope) => void): () => void {
    this.shared.listeners.add(listener);
    return () => this.shared.listeners.delete(listener);
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The in-memory bus is closed');
    const bytes = this.serializer.encode(envelope);
    this.shared.published.push(envelope);
    for (const listener of this.shared.listeners) listener(envelope);
    this.append(envelope.topic, bytes);
  }

  /** Appends raw bytes to a topic as if a foreign producer wrote them (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The in-memory bus is closed');
    this.append(topic, bytes.slice());
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The in-memory bus is closed');
    const resolved = resolveConsumeOptions(options);
    const state = this.groupState(topic, group, resolved.ephemeral);
    const slots = new ConsumerSlots(resolved, undefined, () => this.pump(topic, state));
    const consumer: Consumer = { options: resolved, slots, handler, open: true, group: state, serializer: this.serializer };
    state.consumers.push(consumer);
    this.consumers.add(consumer);
    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= (async () => {
          consumer.open = false;
          state.consumers = state.consumers.filter((c) => c !== consumer);
          await consumer.slots.drain();
          this.subscriptions.delete(subscription);
          if (resolved.ephemeral && state.consumers.length === 0) this.dropGroup(topic, state);
        })();
        return closing;
      },
    };
    this.subscriptions.add(subscription);
    resolved.signal?.addEventListener('abort', () => void subscription.close(), { once: true });
    queueMicrotask(() => this.pump(topic, state));
    return subscription;
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    const dead = this.shared.topics.get(topic)?.dead ?? [];
    return dead.slice(0, limit).map(({ bytes: _bytes, ...letter }) => ({ ...letter }));
  }

  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    const state = this.shared.topics.get(topic);
    const index = state?.dead.findIndex((d) => d.id === id) ?? -1;
    if (!state || index < 0) return false;
    const existing = state.dead[index]!;
    const group = state.groups.get(existing.group);
    if (!group) return false; // its (ephemeral) group is gone: nobody to hand it to
    const [letter] = state.dead.splice(index, 1);
    group.ready.push({ seq: ++this.shared.seq, bytes: letter!.bytes, deliveryCount: 0, availableAt: 0, token: 0 });
    queueMicrotask(() => this.pump(topic, group));
    return true;
  }

  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    const state = this.shared.topics.get(topic);
    if (!state) return 0;
    const before = state.dead.length;
    state.dead = ids === undefined ? [] : state.dead.filter((d) => !ids.includes(d.id));
    return before - state.dead.length;
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The in-memory bus is closed');
    this.groupState(topic, group);
  }

  /** Stops every subscription (waiting for in-flight handlers) and rejects later publishes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    if (--this.shared.open > 0) return; // other connections still use the broker's timers
    for (const topic of this.shared.topics.values()) {
      for (const group of topic.groups.values()) {
        clearTimeout(group.wakeTimer);
        for (const job of group.pending.values()) clearTimeout(job.leaseTimer);
      }
    }
  }

  private topicState(topic: string): TopicState {
    let state = this.shared.topics.get(topic);
    if (!state) {
      state = { log: [], base: 0, groups: new Map(), dead: [] };
      this.shared.topics.set(topic, state);
    }
    return state;
  }

  /** An ephemeral group is removed with whatever is still queued for it. */
  private dropGroup(topic: string, g: GroupState): void {
    clearTimeout(g.wakeTimer);
    for (const job of g.pending.values()) clearTimeout(job.leaseTimer);
    g.pending.clear();
    g.ready = [];
    this.shared.topics.get(topic)?.groups.delete(g.name);
  }

  private groupState(topic: string, group: string, fromLatest = false): GroupState {
    const t = this.topicState(topic);
    let state = t.groups.get(group);
    if (!state) {
      const cursor = fromLatest ? t.base + t.log.length : t.base;
      state = { name: group, ephemeral: fromLatest, cursor, ready: [], pending: new Map(), consumers: [], nextConsumer: 0 };
      t.groups.set(group, state);
    }
    return state;
  }

  private append(topic: string, bytes: Uint8Array): void {
    const t = this.topicState(topic);
    t.log.push(bytes);
    this.trim(t);
    for (const group of t.groups.values()) queueMicrotask(() => this.pump(topic, group));
  }

  /** Drops log entries every group has read, and the oldest beyond `maxRetained`. */
  private trim(t: TopicState): void {
    // with no durable group yet, everything is kept (up to maxRetained) for the first one to read
    const durable = [...t.groups.values()].some((g) => !g.ephemeral);
    let keepFrom = durable ? t.base + t.log.length : t.base;
    for (const g of t.groups.values()) keepFrom = Math.min(keepFrom, g.cursor);
    keepFrom = Math.max(keepFrom, t.base + t.log.length - this.maxRetained);
    if (keepFrom > t.base) {
      t.log.splice(0, keepFrom - t.base);
      t.base = keepFrom;
      for (const g of t.groups.values()) g.cursor = Math.max(g.cursor, t.base);
    }
  }

  private nextJob(t: TopicState, g: GroupState, now: number): Job | undefined {
    const readyIndex = g.ready.findIndex((j) => j.availableAt <= now);
    if (readyIndex >= 0) return g.ready.splice(readyIndex, 1)[0];
    if (g.cursor < t.base + t.log.length) {
      const bytes = t.log[g.cursor - t.base]!;
      g.cursor++;
      return { seq: ++this.shared.seq, bytes, deliveryCount: 0, availableAt: 0, token: 0 };
    }
    return undefined;
  }

  private pickConsumer(g: GroupState): Consumer | undefined {
    for (let i = 0; i < g.consumers.length; i++) {
      const c = g.consumers[(g.nextConsumer + i) % g.consumers.length]!;
      if (c.open && c.slots.free > 0) {
        g.nextConsumer = (g.nextConsumer + i + 1) % g.consumers.length;
        return c;
      }
    }
    return undefined;
  }

  private pump(topic: string, g: GroupState): void {
    const t = this.topicState(topic);
    const now = Date.now();
    for (;;) {
      const consumer = this.pickConsumer(g);
      if (!consumer) break;
      const job = this.nextJob(t, g, now);
      if (!job) break;
      this.deliver(topic, t, g, consumer, job);
    }
    this.trim(t);
    this.scheduleWake(topic, g, now);
  }

  private scheduleWake(topic: string, g: GroupState, now: number): void {
    clearTimeout(g.wakeTimer);
    g.wakeTimer = undefined;
    if (g.ready.length === 0 || this.shared.open === 0) return;
    const next = Math.min(...g.ready.map((j) => j.availableAt));
    g.wakeTimer = setTimeout(() => this.pump(topic, g), Math.max(0, next - now));
  }

  private deliver(topic: string, t: TopicState, g: GroupState, consumer: Consumer, job: Job): void {
    const { leaseMs, maxDeliveries } = consumer.options;
    job.deliveryCount++;
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(job.bytes, consumer.serializer);
    } catch (error) {
      const decodeError = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      this.deadLetter(t, topic, g, job, null, errorSummary(decodeError));
      return;
    }
    const token = ++this.shared.tokens;
    job.token = token;
    g.pending.set(job.seq, job);
    const expire = () => {
      if (g.pending.get(job.seq)?.token !== token) return;
      g.pending.delete(job.seq);
      job.lastError = { code: 'LEASE_EXPIRED', message: `Not acked within ${leaseMs} ms` };
      job.availableAt = 0;
      g.ready.push(job);
      this.pump(topic, g);
    };
    job.leaseTimer = setTimeout(expire, leaseMs);
    // the token fences every action: a holder whose lease ran out acts on nothing
    const isCurrent = () => !consumer.crashed && g.pending.get(job.seq)?.token === token;
    const settle = () => {
      clearTimeout(job.leaseTimer);
      g.pending.delete(job.seq);
    };
    const delivery = createDelivery(
      envelope,
      job.deliveryCount,
      {
        token: String(token),
        ack: async () => {
          if (!isCurrent()) return false;
          settle();
          return true;
        },
        nack: async (error, delayMs) => {
          if (!isCurrent()) return false;
          settle();
          job.lastError = errorSummary(error);
          if (job.deliveryCount >= maxDeliveries) {
            this.deadLetter(t, topic, g, job, envelope, job.lastError, maxDeliveries);
            return true;
          }
          job.availableAt = Date.now() + delayMs;
          g.ready.push(job);
          queueMicrotask(() => this.pump(topic, g));
          return true;
        },
        extend: async () => {
          if (!isCurrent()) return false;
          clearTimeout(job.leaseTimer);
          job.leaseTimer = setTimeout(expire, leaseMs);
          return true;
        },
        deadLetter: async (error) => {
          if (!isCurrent()) return false;
          settle();
          job.lastError = errorSummary(error);
          this.deadLetter(t, topic, g, job, envelope, job.lastError, maxDeliveries);
          return true;
        },
      },
      consumer.options.onLeaseLost,
    );
    consumer.slots.run(delivery, consumer.handler);
  }

  private deadLetter(
    t: TopicState,
    topic: string,
    g: GroupState,
    job: Job,
    envelope: BusEnvelope | null,
    error: { code: string; message: string },
    maxDeliveries = Infinity,
  ): void {
    let decoded = envelope;
    if (decoded === null) {
      try {
        decoded = decodeEnvelope(job.bytes, this.serializer);
      } catch {
        decoded = null;
      }
    }
    const letter: DeadLetter & { group: string; bytes: Uint8Array } = {
      id: `dl-${job.seq}-${job.deliveryCount}`,
      topic,
      group: g.name,
      envelope: decoded,
      error,
      // a delivery past maxDeliveries only came to settle it (see onExhausted): it does not count
      deliveryCount: Math.min(job.deliveryCount, maxDeliveries),
      deadAt: Date.now(),
      bytes: job.bytes,
    };
    if (decoded === null) letter.raw = bytesToBase64(job.bytes);
    t.dead.push(letter);
  }
}

/** Factory form of {@link InMemoryMessageBus}. */
export function createInMemoryMessageBus(options?: InMemoryMessageBusOptions): InMemoryMessageBus {
  return new InMemoryMessageBus(options);
}
