import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  connect,
  headers,
  nanos,
  type NatsConnection,
} from '../../peers/nats.js';
import { loadPeer } from '../../peers/peer.js';
import { BusUnavailableError, PayloadTooLargeError } from '../../errors/index.js';
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
import { busUnavailable, resolveConsumeOptions, safeHost, startConsumer, withTimeout } from '../../distributed/bus-consumer.js';
import { natsNames, type NatsTopicNames } from './nats-names.js';
import { NatsConsumer, type NatsBusInternals } from './nats-consumer.js';

export interface NatsMessageBusOptions {
  /** `nats://host:port` (or several). Default `nats://127.0.0.1:4222`. Ignored when `connection` is given. */
  servers?: string | string[];
  /** An existing connection; the bus does not close it. */
  connection?: NatsConnection;
  /** Prefix of stream names and subjects (a NATS token). Default `pf`. */
  prefix?: string;
  serializer?: Serializer;
  /** Most publishes awaiting their JetStream ack at once; more wait for a slot. Default 1,024. */
  maxInFlight?: number;
  /**
   * `limits` (default): a topic stream keeps messages up to `maxMsgs`/`maxAgeMs`,
   * so a new group also gets what was published before it. `interest`: a
   * message is removed once every consumer acked it (less storage), and what is
   * published while a topic has no consumer is dropped. Set when a stream is created.
   */
  retention?: 'limits' | 'interest';
  /** Messages kept per topic stream (oldest dropped). Default 1,000,000. */
  maxMsgs?: number;
  /** Age after which messages are dropped from a topic stream (ms). Default 7 days. */
  maxAgeMs?: number;
  /** Window in which a republished envelope id is dropped as a duplicate (ms). Default 2 minutes. */
  duplicateWindowMs?: number;
  /** File (default) or memory storage for the streams. */
  storage?: 'file' | 'memory';
  /**
   * Messages each consumer fetches ahead beyond its free slots (default: its
   * concurrency). Their ack wait runs from the fetch, so keep the wait short
   * compared to `leaseMs`. Unrun ones are nak'ed on close.
   */
  prefetch?: number;
  /** Bound on connecting (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /** Bound on each publish and admin call (ms). Default 10,000. */
  requestTimeoutMs?: number;
}

/**
 * A {@link ConsumableBus} on NATS JetStream: one stream per topic, a durable
 * pull consumer per group (explicit acks, `ack_wait` = lease, `nak` with
 * delay), a shared dead-letter stream, async publishes with a bounded number
 * of in-flight acks and de-duplication on the envelope id.
 *
 * Create it with {@link createNatsMessageBus}.
 */
export class NatsMessageBus implements ConsumableBus {
  readonly prefix: string;
  private readonly internals: NatsBusInternals;
  private readonly streams = new Map<string, Promise<void>>();
  private readonly consumers = new Set<NatsConsumer>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  private closed = false;

  /** @internal Use {@link createNatsMessageBus}. */
  constructor(
    readonly connection: NatsConnection,
    private readonly ownsConnection: boolean,
    private readonly host: string,
    jsm: JetStreamManager,
    private readonly options: NatsMessageBusOptions,
  ) {
    this.prefix = options.prefix ?? 'pf';
    this.maxInFlight = options.maxInFlight ?? 1_024;
    const js = jetstream(connection, { timeout: options.requestTimeoutMs ?? 10_000 });
    this.internals = {
      js,
      jsm,
      host,
      serializer: options.serializer ?? jsonSerializer,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      prefetch: options.prefetch,
      names: (topic) => natsNames(this.prefix, topic),
      ensureStream: (topic) => this.ensureStream(topic),
      forgetStream: (topic) => void this.streams.delete(topic),
      deadLetter: (topic, group, data, count, error, raw) => this.deadLetter(topic, group, data, count, error, raw),
    };
  }

  get js(): JetStreamClient {
    return this.internals.js;
  }

  names(topic: string): NatsTopicNames {
    return this.internals.names(topic);
  }

  private ensureStream(topic: string): Promise<void> {
    let p = this.streams.get(topic);
    if (!p) {
      const n = this.names(topic);
      p = this.addStream(n.stream, [n.filter], this.options.maxMsgs ?? 1_000_000, this.options.retention === 'interest');
      p.catch(() => this.streams.delete(topic));
      this.streams.set(topic, p);
    }
    return p;
  }

  private async addStream(name: string, subjects: string[], maxMsgs: number, interest = false): Promise<void> {
    const { jsm } = this.internals;
    try {
      await jsm.streams.info(name);
      return;
    } catch {
      /* not found: create it */
    }
    await jsm.streams.add({
      name,
      subjects,
      retention: interest ? RetentionPolicy.Interest : RetentionPolicy.Limits,
      storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      max_msgs: maxMsgs,
      max_age: nanos(this.options.maxAgeMs ?? 7 * 24 * 3_600_000),
      duplicate_window: nanos(this.options.duplicateWindowMs ?? 120_000),
    });
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    await this.send(envelope.topic, this.names(envelope.topic).subject, this.internals.serializer.encode(envelope), envelope.id);
  }

  /** Publishes raw bytes to a topic as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    await this.send(topic, this.names(topic).subject, bytes);
  }

  private async send(topic: string, subject: string, data: Uint8Array, msgID?: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The NATS bus is closed');
    while (this.inflight.size >= this.maxInFlight) await new Promise<void>((r) => this.slotWaiters.push(r));
    const opts = msgID === undefined ? { timeout: this.internals.requestTimeoutMs } : { msgID, timeout: this.internals.requestTimeoutMs };
    const p = (async () => {
      await this.ensureStream(topic);
      try {
        await this.internals.js.publish(subject, data, opts);
      } catch (error) {
        // the stream went away under us (deleted, server lost its storage): create it again, once
        if (!/no responders|stream not found|not enabled|503/i.test(String((error as Error)?.message))) throw error;
        this.streams.delete(topic);
        await this.ensureStream(topic);
        await this.internals.js.publish(subject, data, opts);
      }
    })();
    this.inflight.add(p);
    try {
      await p;
    } catch (error) {
      throw this.translate(error);
    } finally {
      this.inflight.delete(p);
      this.slotWaiters.shift()?.();
    }
  }

  private translate(error: unknown): Error {
    const text = String((error as Error)?.message ?? error);
    if (/max.?payload/i.test(text)) return new PayloadTooLargeError('The envelope is larger than the NATS max_payload', { cause: error });
    return busUnavailable('NATS JetStream', this.host, error);
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The NATS bus is closed');
    const consumer = new NatsConsumer(this.internals, topic, group, handler, resolveConsumeOptions(options), () =>
      this.consumers.delete(consumer),
    );
    return startConsumer(this.consumers, consumer, this.internals.requestTimeoutMs, () => busUnavailable('NATS JetStream', this.host), (error) =>
      this.translate(error),
    );
  }

  private async ensureDeadLetterStream(topic: string): Promise<void> {
    const key = `\u0000dlq:${topic}`;
    let p = this.streams.get(key);
    if (!p) {
      const n = this.names(topic);
      p = this.addStream(n.deadLetterStream, [n.deadLetterSubject], 100_000);
      p.catch(() => this.streams.delete(key));
      this.streams.set(key, p);
    }
    return p;
  }

  private async deadLetter(
    topic: string,
    group: string,
    data: Uint8Array,
    count: number,
    error: { code: string; message: string },
    raw: boolean,
  ): Promise<void> {
    await this.ensureDeadLetterStream(topic);
    const h = headers();
    h.set('pf-group', encodeURIComponent(group));
    h.set('pf-count', String(count));
    h.set('pf-code', encodeURIComponent(error.code));
    h.set('pf-message', encodeURIComponent(error.message));
    h.set('pf-dead-at', String(Date.now()));
    h.set('pf-raw', raw ? '1' : '0');
    await this.internals.js.publish(this.names(topic).deadLetterSubject, data, { headers: h, timeout: this.internals.requestTimeoutMs });
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    const n = this.names(topic);
    const { jsm, serializer } = this.internals;
    const out: DeadLetter[] = [];
    await this.ensureDeadLetterStream(topic);
    const { state } = await jsm.streams.info(n.deadLetterStream);
    for (let seq = state.first_seq; seq <= state.last_seq && out.length < limit; seq++) {
      const msg = await jsm.streams.getMessage(n.deadLetterStream, { seq }).catch(() => null);
      if (!msg) continue; // deleted (retried)
      let envelope: BusEnvelope | null = null;
      try {
        envelope = decodeEnvelope(msg.data, serializer);
      } catch {
        envelope = null;
      }
      const h = (key: string) => decodeURIComponent(msg.header.get(key) ?? '');
      const letter: DeadLetter = {
        id: String(msg.seq),
        topic,
        group: h('pf-group'),
        envelope,
        error: { code: h('pf-code'), message: h('pf-message') },
        deliveryCount: Number(h('pf-count')),
        deadAt: Number(h('pf-dead-at')),
      };
      if (envelope === null) letter.raw = bytesToBase64(msg.data);
      out.push(letter);
    }
    return out;
  }

  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    const seq = Number(id);
    if (!Number.isSafeInteger(seq) || seq <= 0) return false;
    const n = this.names(topic);
    const { jsm, js } = this.internals;
    await this.ensureDeadLetterStream(topic);
    const msg = await jsm.streams.getMessage(n.deadLetterStream, { seq }).catch(() => null);
    if (!msg || msg.subject !== n.deadLetterSubject) return false;
    const group = decodeURIComponent(msg.header.get('pf-group') ?? '');
    await this.ensureStream(topic);
    await js.publish(n.retrySubject(group), msg.data, { timeout: this.internals.requestTimeoutMs });
    await jsm.streams.deleteMessage(n.deadLetterStream, seq, false);
    return true;
  }

  /** Deletes every stream under this bus's prefix (topics and dead letters). For tests and teardown. */
  async purge(): Promise<void> {
    const { jsm } = this.internals;
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(`${this.prefix}_`)) await jsm.streams.delete(info.config.name);
    }
    this.streams.clear();
  }

  /** Stops consumers (draining handlers), waits for in-flight publishes, then drains the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.allSettled([...this.inflight]);
    if (this.ownsConnection) await withTimeout(this.connection.drain(), 5_000, () => new Error('drain timed out')).catch(() => this.connection.close());
    else await this.connection.flush().catch(() => {});
  }
}

/**
 * Connects (bounded by `connectTimeoutMs`), checks JetStream and returns the bus.
 * An unreachable server gives one {@link BusUnavailableError} naming `host:port`.
 *
 * @example
 * const bus = await createNatsMessageBus({ servers: 'nats://127.0.0.1:4222', prefix: 'myapp' });
 * await bus.consume('summarize', 'workers', async (d) => work(d.envelope.message), { leaseMs: 30_000 });
 */
export async function createNatsMessageBus(options: NatsMessageBusOptions = {}): Promise<NatsMessageBus> {
  loadPeer('@nats-io/transport-node'); // MISSING_PEER here, not wrapped in a connect error below
  loadPeer('@nats-io/jetstream');
  const servers = options.servers ?? 'nats://127.0.0.1:4222';
  const first = Array.isArray(servers) ? (servers[0] ?? '') : servers;
  const host = safeHost(first.includes('://') ? first : `nats://${first}`, 4222);
  const timeout = options.connectTimeoutMs ?? 5_000;
  let nc = options.connection;
  const owns = nc === undefined;
  try {
    nc ??= await withTimeout(
      connect({ servers, timeout, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: `penguiflow:${options.prefix ?? 'pf'}` }),
      timeout + 1_000,
      () => busUnavailable('NATS', host),
    );
  } catch (error) {
    throw error instanceof BusUnavailableError ? error : busUnavailable('NATS', host, error);
  }
  try {
    const jsm = await withTimeout(jetstreamManager(nc, { timeout }), timeout, () => busUnavailable('NATS JetStream', host));
    return new NatsMessageBus(nc, owns, host, jsm, options);
  } catch (error) {
    if (owns) await nc.close().catch(() => {});
    throw error instanceof BusUnavailableError ? error : busUnavailable('NATS JetStream', host, error);
  }
}
