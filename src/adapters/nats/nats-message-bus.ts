import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
  connect,
  headers,
  nanos,
  type NatsConnection,
} from '../../peers/nats.js';
import { loadPeer } from '../../peers/peer.js';
import { BusUnavailableError, PayloadTooLargeError, QueueFullError } from '../../errors/index.js';
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
import { busUnavailable, DEFAULT_LEASE_MS, resolveConsumeOptions, safeHost, startConsumer, withTimeout } from '../../distributed/bus-consumer.js';
import { natsNames, natsToken, type NatsTopicNames } from './nats-names.js';
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
   * `limits` (default): a topic stream keeps every message until every consumer
   * of the topic acked it (the bus purges below the lowest ack floor every
   * `housekeepingMs`), so a new group also gets what is still retained.
   * `interest`: the server removes a message once every consumer acked it, and
   * what is published while a topic has no consumer is dropped (call
   * `ensureGroup` first). Set when a stream is created.
   */
  retention?: 'limits' | 'interest';
  /**
   * Messages a topic stream holds (unread, pending and not yet purged). A full
   * stream refuses publishes with `QueueFullError` (`discard: new`): nothing
   * is ever dropped to make room. Default 1,000,000.
   */
  maxMsgs?: number;
  /** Bytes a topic stream holds, like `maxMsgs`. Default unlimited. */
  maxBytes?: number;
  /**
   * Told when a topic stream holds 80 % of `maxMsgs` (or `maxBytes`) or more,
   * checked off the publish path at most once per topic every 10 s, and when a
   * publish is refused because it is full: the time to add consumers.
   */
  onNearLimit?: (info: { topic: string; messages: number; bytes: number; maxMsgs: number; maxBytes: number }) => void;
  /**
   * Age after which the server drops messages, read or not (ms). Default none:
   * an age limit can drop unread work, so only set it for topics that may lose it.
   */
  maxAgeMs?: number;
  /** Messages a topic's dead-letter stream holds; past it dead-lettering fails (and the message is handed back). Default 100,000. */
  deadLetterMaxMsgs?: number;
  /** Window in which a republished envelope id is dropped as a duplicate (ms). Default 5 minutes. */
  duplicateWindowMs?: number;
  /** File (default) or memory storage for the streams. */
  storage?: 'file' | 'memory';
  /**
   * Messages each consumer fetches ahead beyond its free slots. Default 0: a
   * consumer only asks for as many messages as it has free slots, so nothing
   * it fetched waits for a slot. Read-ahead ones are kept alive (`working()`)
   * until they start — also behind a handler that hangs, so keep it 0 unless
   * handlers are short — and handed back unrun on close.
   */
  prefetch?: number;
  /** Period of the purge of acked messages and of the ack-wait refresh (ms). Default 5,000. */
  housekeepingMs?: number;
  /** An ephemeral group's consumer is removed by the server this long after its last fetch (ms). Default 60,000. */
  ephemeralInactiveMs?: number;
  /** Bound on connecting (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /**
   * `true` (default): {@link createNatsMessageBus} rejects with
   * `BusUnavailableError` when NATS does not answer within `connectTimeoutMs`.
   * `false`: it returns at once and keeps connecting in the background; until
   * the first connection, publish, consume and ensureGroup wait up to
   * `requestTimeoutMs` and then reject with `BusUnavailableError` (for workers
   * that must start before NATS does).
   */
  failFast?: boolean;
  /**
   * Bound on each publish and admin call (ms), and how long publish and
   * consume wait for a reconnect before rejecting with `BusUnavailableError`. Default 10,000.
   */
  requestTimeoutMs?: number;
}

/**
 * A {@link ConsumableBus} on NATS JetStream: one stream per topic, a durable
 * pull consumer per group (explicit acks, `ack_wait` = lease renewed with
 * `working()`, `nak` with delay), a dead-letter stream per topic, async
 * publishes with a bounded number of in-flight acks and de-duplication on the
 * envelope id (`Nats-Msg-Id`).
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
  private readonly connectWaiters = new Set<() => void>();
  private nc: NatsConnection | undefined;
  private jsClient: JetStreamClient | undefined;
  private manager: JetStreamManager | undefined;
  private up = false;
  private readonly limitCheckedAt = new Map<string, number>();
  private crashed = false;
  private closed = false;

  /** @internal Use {@link createNatsMessageBus}. */
  constructor(
    connection: NatsConnection | undefined,
    private readonly ownsConnection: boolean,
    private readonly host: string,
    jsm: JetStreamManager | undefined,
    private readonly options: NatsMessageBusOptions,
  ) {
    this.prefix = options.prefix ?? 'pf';
    this.maxInFlight = options.maxInFlight ?? 1_024;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const bus = this;
    this.internals = {
      get js() {
        return bus.js;
      },
      get jsm() {
        return bus.jsm;
      },
      host,
      serializer: options.serializer ?? jsonSerializer,
      requestTimeoutMs,
      prefetch: options.prefetch,
      housekeepingMs: options.housekeepingMs ?? 5_000,
      ephemeralInactiveMs: options.ephemeralInactiveMs ?? 60_000,
      purgesAcked: options.retention !== 'interest',
      names: (topic) => natsNames(this.prefix, topic),
      ensureStream: (topic) => this.ensureStream(topic),
      forgetStream: (topic) => void this.streams.delete(topic),
      deadLetter: (topic, group, msg, count, error, raw) => this.deadLetter(topic, group, msg, count, error, raw),
      withdrawDeadLetter: async (topic, seq) => void (await this.jsm.streams.deleteMessage(this.names(topic).deadLetterStream, seq, false)),
      connected: () => this.up && !this.crashed && !this.closedConnection(),
      whenConnected: (ms) => this.whenConnected(ms),
      flush: () => this.connection.flush(),
    };
    if (connection !== undefined && jsm !== undefined) this.attach(connection, jsm);
  }

  /** @internal Takes the connection once it is up (at once, or later with `failFast: false`). */
  attach(connection: NatsConnection, jsm: JetStreamManager): void {
    this.nc = connection;
    this.manager = jsm;
    this.jsClient = jetstream(connection, { timeout: this.internals.requestTimeoutMs });
    this.up = true;
    void this.watchStatus(connection);
    for (const wake of [...this.connectWaiters]) wake();
  }

  /** Whether the bus is closed (a background connect then gives up). */
  get isClosed(): boolean {
    return this.closed || this.crashed;
  }

  /** The NATS connection (throws before the first connection with `failFast: false`). */
  get connection(): NatsConnection {
    if (this.nc === undefined) throw busUnavailable('NATS', this.host);
    return this.nc;
  }

  get js(): JetStreamClient {
    if (this.jsClient === undefined) throw busUnavailable('NATS JetStream', this.host);
    return this.jsClient;
  }

  private get jsm(): JetStreamManager {
    if (this.manager === undefined) throw busUnavailable('NATS JetStream', this.host);
    return this.manager;
  }

  names(topic: string): NatsTopicNames {
    return this.internals.names(topic);
  }

  private closedConnection(): boolean {
    return this.nc?.isClosed() ?? false;
  }

  /** Tracks disconnects, so nothing is handed to the driver while it would only buffer it for a late send. */
  private async watchStatus(connection: NatsConnection): Promise<void> {
    try {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') this.up = false;
        else if (status.type === 'reconnect') {
          this.up = true;
          for (const wake of [...this.connectWaiters]) wake();
        }
      }
    } catch {
      /* the connection closed */
    }
  }

  private whenConnected(ms: number): Promise<boolean> {
    if (this.internals.connected()) return Promise.resolve(true);
    if (this.closed || this.crashed || this.closedConnection() || ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.connectWaiters.delete(done);
        resolve(this.internals.connected());
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.connectWaiters.add(done);
    });
  }

  /** Waits for the connection (bounded by the request timeout), else BusUnavailableError. */
  private async ready(): Promise<void> {
    if (this.closed || this.crashed) throw new BusUnavailableError('The NATS bus is closed');
    if (!(await this.whenConnected(this.internals.requestTimeoutMs))) throw busUnavailable('NATS JetStream', this.host);
  }

  private ensureStream(topic: string): Promise<void> {
    let p = this.streams.get(topic);
    if (!p) {
      const n = this.names(topic);
      p = this.addStream({
        name: n.stream,
        subjects: [n.filter],
        retention: this.options.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Limits,
        max_msgs: this.options.maxMsgs ?? 1_000_000,
        max_bytes: this.options.maxBytes ?? -1,
        max_age: nanos(this.options.maxAgeMs ?? 0),
      });
      p.catch(() => this.streams.delete(topic));
      this.streams.set(topic, p);
    }
    return p;
  }

  /**
   * Creates a stream (discard `new`: a full stream refuses publishes, nothing
   * is dropped), or brings an existing one of this bus to that policy (streams
   * made by earlier versions discarded the oldest and expired after 7 days).
   */
  private async addStream(config: Pick<StreamConfig, 'name' | 'subjects' | 'retention' | 'max_msgs' | 'max_bytes' | 'max_age'>): Promise<void> {
    const { jsm } = this.internals;
    const wanted = {
      ...config,
      storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(this.options.duplicateWindowMs ?? 300_000),
    };
    let existing;
    try {
      existing = await jsm.streams.info(config.name);
    } catch (error) {
      if (!/not found/i.test(String((error as Error)?.message))) throw error;
    }
    if (existing === undefined) {
      await jsm.streams.add(wanted);
      return;
    }
    const c = existing.config;
    if (c.discard !== DiscardPolicy.New || c.max_age !== wanted.max_age || c.max_msgs !== wanted.max_msgs || c.max_bytes !== wanted.max_bytes || c.duplicate_window < wanted.duplicate_window) {
      const { storage: _storage, retention: _retention, ...changes } = wanted;
      await jsm.streams.update(config.name, changes);
    }
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    await this.send(envelope.topic, this.names(envelope.topic).subject, this.internals.serializer.encode(envelope), envelope.id);
  }

  /** Publishes raw bytes to a topic as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    await this.send(topic, this.names(topic).subject, bytes);
  }

  private async send(topic: string, subject: string, data: Uint8Array, msgID?: string): Promise<void> {
    if (this.closed || this.crashed) throw new BusUnavailableError('The NATS bus is closed');
    while (this.inflight.size >= this.maxInFlight) await new Promise<void>((r) => this.slotWaiters.push(r));
    const started = Date.now();
    const timeout = this.internals.requestTimeoutMs;
    const p = (async () => {
      // while reconnecting the driver would buffer the publish and send it whenever it reconnects:
      // wait for the connection instead, and give up (nothing sent) after the request timeout
      if (!(await this.whenConnected(timeout))) throw busUnavailable('NATS JetStream', this.host);
      const opts = () => {
        const left = Math.max(1, timeout - (Date.now() - started));
        return msgID === undefined ? { timeout: left } : { msgID, timeout: left };
      };
      await this.ensureStream(topic);
      try {
        await this.internals.js.publish(subject, data, opts());
      } catch (error) {
        // the stream went away under us (deleted, server lost its storage): create it again, once
        if (!/no responders|stream not found|not enabled|503/i.test(String((error as Error)?.message))) throw error;
        this.streams.delete(topic);
        await this.ensureStream(topic);
        await this.internals.js.publish(subject, data, opts());
      }
    })();
    this.inflight.add(p);
    try {
      await p;
      this.checkNearLimit(topic, false);
    } catch (error) {
      const translated = this.translate(error, topic);
      if (translated instanceof QueueFullError) this.checkNearLimit(topic, true);
      throw translated;
    } finally {
      this.inflight.delete(p);
      this.slotWaiters.shift()?.();
    }
  }

  /** Reads the stream's size now and then (never on the publish path) and tells `onNearLimit`. */
  private checkNearLimit(topic: string, full: boolean): void {
    const listener = this.options.onNearLimit;
    if (listener === undefined) return;
    const now = Date.now();
    const key = full ? `full:${topic}` : topic; // a refusal is told even right after a check
    if (now - (this.limitCheckedAt.get(key) ?? -Infinity) < 10_000) return;
    this.limitCheckedAt.set(key, now);
    const maxMsgs = this.options.maxMsgs ?? 1_000_000;
    const maxBytes = this.options.maxBytes ?? -1;
    void this.jsm.streams
      .info(this.names(topic).stream)
      .then(({ state }) => {
        const near = full || state.messages >= maxMsgs * 0.8 || (maxBytes > 0 && state.bytes >= maxBytes * 0.8);
        if (near) listener({ topic, messages: state.messages, bytes: state.bytes, maxMsgs, maxBytes });
      })
      .catch(() => undefined); // a listener's or a lookup's failure is not the publisher's
  }

  private translate(error: unknown, topic?: string): Error {
    if (error instanceof BusUnavailableError) return error;
    const text = String((error as Error)?.message ?? error);
    if (/max.?payload/i.test(text)) return new PayloadTooLargeError('The envelope is larger than the NATS max_payload', { cause: error });
    if (/maximum (messages|bytes) exceeded/i.test(text)) {
      const limit = /bytes/i.test(text) ? `maxBytes ${this.options.maxBytes}` : `maxMsgs ${this.options.maxMsgs ?? 1_000_000}`;
      return new QueueFullError(
        `Topic ${JSON.stringify(topic)} is full (${limit} unread or pending messages): the publish was refused, nothing was dropped`,
        { cause: error, details: { topic: topic ?? '', limit } },
      );
    }
    return busUnavailable('NATS JetStream', this.host, error);
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed || this.crashed) throw new BusUnavailableError('The NATS bus is closed');
    const consumer = new NatsConsumer(this.internals, topic, group, handler, resolveConsumeOptions(options), () =>
      this.consumers.delete(consumer),
    );
    return startConsumer(this.consumers, consumer, this.internals.requestTimeoutMs, () => busUnavailable('NATS JetStream', this.host), (error) =>
      this.translate(error),
    );
  }

  /**
   * Creates the group's durable consumer (from the start of the stream) when it
   * does not exist, so what is published from now on is kept for it.
   */
  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed || this.crashed) throw new BusUnavailableError('The NATS bus is closed');
    const n = this.names(topic);
    const { jsm } = this.internals;
    try {
      if (!(await this.whenConnected(this.internals.requestTimeoutMs))) throw busUnavailable('NATS JetStream', this.host);
      await this.ensureStream(topic);
      try {
        await jsm.consumers.info(n.stream, n.durable(group));
      } catch (error) {
        if (!/not found/i.test(String((error as Error)?.message))) throw error;
        await jsm.consumers
          .add(n.stream, {
            durable_name: n.durable(group),
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: n.filter,
            ack_wait: nanos(DEFAULT_LEASE_MS),
            max_deliver: -1,
            max_ack_pending: -1,
          })
          .catch(async (e: unknown) => {
            // another process created it meanwhile
            await jsm.consumers.info(n.stream, n.durable(group)).catch(() => Promise.reject(e));
          });
      }
    } catch (error) {
      throw this.translate(error, topic);
    }
  }

  private async ensureDeadLetterStream(topic: string): Promise<void> {
    const key = `\u0000dlq:${topic}`;
    let p = this.streams.get(key);
    if (!p) {
      const n = this.names(topic);
      p = this.addStream({
        name: n.deadLetterStream,
        subjects: [n.deadLetterSubject],
        retention: RetentionPolicy.Limits,
        max_msgs: this.options.deadLetterMaxMsgs ?? 100_000,
        max_bytes: -1,
        max_age: 0,
      });
      p.catch(() => this.streams.delete(key));
      this.streams.set(key, p);
    }
    return p;
  }

  /**
   * Stores a dead letter and resolves its sequence in the dead-letter stream.
   * Its `Nats-Msg-Id` names the group and the original's stream sequence, so a
   * message that dies again after a lost `term` is stored once; when that id
   * names a dead letter deleted since (withdrawn, purged), a new one is stored.
   */
  private async deadLetter(topic: string, group: string, msg: JsMsg, count: number, error: { code: string; message: string }, raw: boolean): Promise<number> {
    const n = this.names(topic);
    await this.ensureDeadLetterStream(topic);
    const h = headers();
    h.set('pf-group', encodeURIComponent(group));
    h.set('pf-count', String(count));
    h.set('pf-code', encodeURIComponent(error.code));
    h.set('pf-message', encodeURIComponent(error.message));
    h.set('pf-dead-at', String(Date.now()));
    h.set('pf-raw', raw ? '1' : '0');
    const { js, jsm, requestTimeoutMs } = this.internals;
    const msgID = `dl.${natsToken(group)}.${msg.info.streamSequence}`;
    const ack = await js.publish(n.deadLetterSubject, msg.data, { headers: h, msgID, timeout: requestTimeoutMs });
    if (!ack.duplicate) return ack.seq;
    const still = await jsm.streams.getMessage(n.deadLetterStream, { seq: ack.seq }).catch(() => null);
    if (still) return ack.seq;
    const again = await js.publish(n.deadLetterSubject, msg.data, { headers: h, msgID: `${msgID}.${msg.info.deliveryCount}.${Date.now()}`, timeout: requestTimeoutMs });
    return again.seq;
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    await this.ready();
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

  /**
   * Publishes the dead letter again on its group's retry subject (a new stream
   * message: its next delivery is count 1), then deletes the dead letter.
   */
  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    await this.ready();
    const seq = Number(id);
    if (!Number.isSafeInteger(seq) || seq <= 0) return false;
    const n = this.names(topic);
    const { jsm, js } = this.internals;
    await this.ensureDeadLetterStream(topic);
    const msg = await jsm.streams.getMessage(n.deadLetterStream, { seq }).catch(() => null);
    if (!msg || msg.subject !== n.deadLetterSubject) return false;
    const group = decodeURIComponent(msg.header.get('pf-group') ?? '');
    await this.ensureStream(topic);
    // a retry sent twice (a timeout, two operators) hands the message back once
    const msgID = `retry.${seq}.${msg.header.get('pf-dead-at') ?? ''}`;
    await js.publish(n.retrySubject(group), msg.data, { msgID, timeout: this.internals.requestTimeoutMs });
    await jsm.streams.deleteMessage(n.deadLetterStream, seq, false).catch(() => false);
    return true;
  }

  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    await this.ready();
    const n = this.names(topic);
    const { jsm } = this.internals;
    await this.ensureDeadLetterStream(topic);
    if (ids === undefined) return (await jsm.streams.purge(n.deadLetterStream)).purged;
    let deleted = 0;
    for (const id of new Set(ids)) {
      const seq = Number(id);
      if (!Number.isSafeInteger(seq) || seq <= 0) continue;
      if (await jsm.streams.deleteMessage(n.deadLetterStream, seq, false).catch(() => false)) deleted++;
    }
    return deleted;
  }

  /** Deletes every stream under this bus's prefix (topics and dead letters). For tests and teardown. */
  async purge(): Promise<void> {
    const { jsm } = this.internals;
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(`${this.prefix}_`)) await jsm.streams.delete(info.config.name);
    }
    this.streams.clear();
  }

  /**
   * Test seam: this bus behaves as if its process was SIGKILLed. Its consumers
   * stop fetching, renewing, acking and handing back; the connection is closed
   * without draining, so what it held comes back to the group after the ack wait.
   */
  async crash(): Promise<void> {
    if (this.crashed || this.closed) return;
    this.crashed = true;
    for (const consumer of this.consumers) consumer.crash();
    await this.nc?.close().catch(() => {});
  }

  /** Stops consumers (draining handlers), waits for in-flight publishes, then drains the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.allSettled([...this.inflight]);
    for (const wake of [...this.connectWaiters]) wake();
    const nc = this.nc;
    if (this.crashed || nc === undefined) return;
    if (this.ownsConnection) await withTimeout(nc.drain(), 5_000, () => new Error('drain timed out')).catch(() => nc.close());
    else await nc.flush().catch(() => {});
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
  const connectOptions = { servers, timeout, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: `penguiflow:${options.prefix ?? 'pf'}` };
  if (options.connection === undefined && options.failFast === false) {
    const bus = new NatsMessageBus(undefined, true, host, undefined, options);
    void connectInBackground(bus, connectOptions, timeout);
    return bus;
  }
  let nc = options.connection;
  const owns = nc === undefined;
  try {
    nc ??= await withTimeout(connect(connectOptions), timeout + 1_000, () => busUnavailable('NATS', host));
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

/** `failFast: false`: tries to connect (and find JetStream) every second until it works or the bus is closed. */
async function connectInBackground(bus: NatsMessageBus, connectOptions: Parameters<typeof connect>[0], timeout: number): Promise<void> {
  while (!bus.isClosed) {
    let nc: NatsConnection | undefined;
    try {
      nc = await connect(connectOptions);
      const jsm = await withTimeout(jetstreamManager(nc, { timeout }), timeout, () => new Error('JetStream did not answer'));
      if (bus.isClosed) break;
      bus.attach(nc, jsm);
      return;
    } catch {
      await nc?.close().catch(() => {});
      nc = undefined;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      if (bus.isClosed) await nc?.close().catch(() => {});
    }
  }
}
