import pg from '../../peers/pg.js';
import { BusUnavailableError } from '../../errors/index.js';
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
import { busUnavailable, resolveConsumeOptions, safeHost, sleep, withTimeout } from '../../distributed/bus-consumer.js';
import { PollingConsumer, type QueueDriver, type QueueRow } from '../../distributed/bus-poll-consumer.js';
import { queueSql, type QueueSql } from './postgres-queue-sql.js';

export interface PostgresQueueOptions {
  /** `postgres://user:pass@host:5432/db`. Ignored when `pool` is given. */
  url?: string;
  /** An existing pool; the queue does not end it. LISTEN uses one dedicated client of its own (from `url`, or the pool's options). */
  pool?: pg.Pool;
  /** Schema of the queue tables (created if missing). Default `public`. */
  schema?: string;
  serializer?: Serializer;
  /** Safety-net poll when no NOTIFY arrives; also bounds lease-expiry detection (ms). Default 1,000. */
  pollMs?: number;
  /** Bound on connecting and on each statement (ms). Default 10,000. */
  timeoutMs?: number;
  /** Pool size when the queue creates the pool. Default 10. */
  maxConnections?: number;
  /**
   * `createPostgresQueue` resolves even when the database is not reachable;
   * the tables and LISTEN are set up on first use, and each use while the
   * database is down rejects with `BusUnavailableError` within `timeoutMs`
   * (a worker retries its `consume` until it works). Default false: an
   * unreachable database makes `createPostgresQueue` reject.
   */
  lazyConnect?: boolean;
}

/** An ephemeral group is renewed every third of this; a crashed process's group is swept after it. */
const EPHEMERAL_TTL_MS = 60_000;
/** How often an idle durable consumer adopts envelopes published while its topic had no group (a rare race at start). */
const ADOPT_EVERY_MS = 5_000;

interface PendingPublish {
  bytes: Uint8Array;
  id: string | null;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface PendingAck {
  id: string;
  token: string;
  resolve: (acked: boolean) => void;
  reject: (e: unknown) => void;
}

/** SQLSTATE classes that mean "the database is not usable right now", not "the statement is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|58)|^57014$/;
/** Driver and socket errors carry no SQLSTATE. */
const UNAVAILABLE_MESSAGE = /connect|terminat|timeout|not queryable|pool|socket|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH/i;

function isUnavailable(error: unknown): boolean {
  if (error instanceof BusUnavailableError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_SQLSTATE.test(code);
  if (typeof code === 'string' && code.startsWith('E')) return true; // ECONNREFUSED, ECONNRESET, …
  return error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message);
}

/**
 * A durable queue on PostgreSQL for users who run no broker, implementing
 * {@link ConsumableBus}: a jobs table claimed with `FOR UPDATE SKIP LOCKED`
 * and a fenced lease (`visible_at` + a random `lease_token` per claim),
 * `LISTEN/NOTIFY` to wake consumers at once, delivery counts, a dead-letter
 * table. Every group gets its own row per envelope (fan-out at publish);
 * envelopes published while a topic has no group go to the first group that
 * consumes it (or that `ensureGroup` registers).
 *
 * @example
 * const queue = await createPostgresQueue({ url: 'postgres://app@db/app', schema: 'penguiflow' });
 * await queue.consume('summarize', 'workers', async (d) => work(d.envelope.message), { concurrency: 4 });
 */
export class PostgresQueue implements ConsumableBus {
  readonly schema: string;
  readonly channel: string;
  private readonly sql: QueueSql;
  private readonly serializer: Serializer;
  private readonly consumers = new Map<string, Set<PollingConsumer>>();
  private readonly batches = new Map<string, PendingPublish[]>();
  private readonly inflight = new Set<Promise<void>>();
  private listener: pg.Client | undefined;
  private ready: Promise<void> | undefined;
  private initialised = false;
  private closed = false;
  private crashed = false;

  /** @internal Use {@link createPostgresQueue}. */
  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    private readonly listenerConfig: pg.ClientConfig,
    private readonly host: string,
    private readonly options: PostgresQueueOptions,
  ) {
    this.schema = options.schema ?? 'public';
    this.channel = `pf_queue_${this.schema}`.slice(0, 63);
    this.sql = queueSql(this.schema);
    this.serializer = options.serializer ?? jsonSerializer;
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  private unavailable(cause?: unknown): BusUnavailableError {
    return busUnavailable('PostgreSQL', this.host, cause);
  }

  /**
   * A pooled connection within `timeoutMs`. One that arrives after the caller
   * gave up goes straight back to the pool, so a statement the caller saw
   * fail is never sent later.
   */
  private async acquire(): Promise<pg.PoolClient> {
    if (this.crashed) throw new BusUnavailableError('The PostgreSQL queue crashed (test seam)');
    const pending = this.pool.connect();
    try {
      return await withTimeout(pending, this.timeoutMs, () => this.unavailable());
    } catch (error) {
      pending.then((client) => client.release(), () => undefined);
      throw isUnavailable(error) ? (error instanceof BusUnavailableError ? error : this.unavailable(error)) : error;
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.acquire();
      let broken: Error | undefined;
      try {
        if (this.crashed) throw new BusUnavailableError('The PostgreSQL queue crashed (test seam)');
        return await withTimeout(client.query<R>(text, values), this.timeoutMs, () => this.unavailable());
      } catch (error) {
        if (isUnavailable(error)) {
          broken = error as Error; // the connection is dropped, never reused
          throw error instanceof BusUnavailableError ? error : this.unavailable(error);
        }
        const code = (error as { code?: string }).code ?? '';
        // Each statement runs alone (autocommit), so one the server rolled back as a deadlock victim
        // (40P01) or a serialization failure (40001) is safe to run again.
        if ((code === '40P01' || code === '40001') && attempt < 5) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
          continue;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  /** @internal Creates tables (idempotent, serialised across processes) and starts LISTEN. */
  async init(): Promise<void> {
    await this.ensureReady();
  }

  /** Tables and LISTEN, once; a failed attempt is tried again on the next use. */
  private ensureReady(): Promise<void> {
    if (this.initialised) return Promise.resolve();
    this.ready ??= this.setUp().then(
      () => void (this.initialised = true),
      (error: unknown) => {
        this.ready = undefined;
        throw error instanceof BusUnavailableError ? error : this.unavailable(error);
      },
    );
    return this.ready;
  }

  private async setUp(): Promise<void> {
    const client = await this.acquire();
    let broken: Error | undefined;
    try {
      const run = (text: string, values?: unknown[]) => withTimeout(client.query(text, values), this.timeoutMs, () => this.unavailable());
      await run('BEGIN');
      await run('SELECT pg_advisory_xact_lock(hashtext($1))', [`penguiflow-queue:${this.schema}`]);
      await run(this.sql.migrate);
      await run('COMMIT');
    } catch (error) {
      broken = error as Error; // drop the connection: its transaction is rolled back with it
      throw error;
    } finally {
      client.release(broken);
    }
    if (!this.closed) await this.listen();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.listenerConfig);
    client.on('error', () => {});
    client.on('notification', (n) => {
      for (const c of this.consumers.get(n.payload ?? '') ?? []) c.wake();
    });
    client.on('end', () => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      void this.relisten();
    });
    try {
      await withTimeout(client.connect(), this.timeoutMs, () => this.unavailable());
      await withTimeout(client.query(`LISTEN "${this.channel}"`), this.timeoutMs, () => this.unavailable());
    } catch (error) {
      void client.end().catch(() => {});
      throw error;
    }
    if (this.closed) return void client.end().catch(() => {});
    this.listener = client;
  }

  private async relisten(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.listen();
        for (const set of this.consumers.values()) for (const c of set) c.wake();
        return;
      } catch {
        await sleep(Math.min(200 * 2 ** attempt, 5_000));
      }
    }
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    return this.enqueue(envelope.topic, this.serializer.encode(envelope), envelope.id);
  }

  /** Inserts raw bytes as a foreign producer would (tests of undecodable input); raw rows are not deduplicated. */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    return this.enqueue(topic, bytes, null);
  }

  /** Publishes of one tick to one topic go in one INSERT. */
  private enqueue(topic: string, bytes: Uint8Array, id: string | null): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('The PostgreSQL queue is closed'));
    if (!this.initialised) return this.ensureReady().then(() => this.enqueue(topic, bytes, id));
    return new Promise<void>((resolve, reject) => {
      let batch = this.batches.get(topic);
      if (!batch) {
        this.batches.set(topic, (batch = []));
        queueMicrotask(() => this.flush(topic));
      }
      batch.push({ bytes, id, resolve, reject });
    });
  }

  private flush(topic: string): void {
    const items = this.batches.get(topic) ?? [];
    this.batches.delete(topic);
    if (items.length === 0) return;
    const bodies = items.map((i) => Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength));
    const p = this.query(this.sql.publish, [topic, bodies, this.channel, items.map((i) => i.id)]).then(
      () => items.forEach((i) => i.resolve()),
      (error: unknown) => items.forEach((i) => i.reject(error)),
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /**
   * Registers `group` on `topic`: from now on every publish queues a row for
   * it, and envelopes published while the topic had no group are adopted.
   * Idempotent.
   */
  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The PostgreSQL queue is closed');
    await this.ensureReady();
    await this.query(this.sql.register, [topic, group]);
  }

  /**
   * Rejects with `BusUnavailableError` within `timeoutMs` when the database
   * is not reachable (a worker retries). Once running, a consumer rides out
   * outages: claims are retried with backoff, LISTEN reconnects, and a
   * settle that fails is retried while its lease lasts.
   */
  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The PostgreSQL queue is closed');
    const resolved = resolveConsumeOptions(options);
    await this.ensureReady();
    if (resolved.ephemeral) await this.query(this.sql.registerEphemeral, [topic, group, EPHEMERAL_TTL_MS]);
    else await this.query(this.sql.register, [topic, group]);
    if (this.closed) throw new BusUnavailableError('The PostgreSQL queue is closed');
    let renewAt = Date.now() + EPHEMERAL_TTL_MS / 3;
    let adoptAt = Date.now() + ADOPT_EVERY_MS;
    const acks: PendingAck[] = [];
    const flushAcks = () => {
      const batch = acks.splice(0);
      this.query<{ id: string }>(this.sql.ack, [batch.map((a) => a.id), batch.map((a) => a.token)]).then(
        ({ rows }) => {
          const deleted = new Set(rows.map((r) => r.id));
          for (const a of batch) a.resolve(deleted.has(a.id));
        },
        (error: unknown) => batch.forEach((a) => a.reject(error)),
      );
    };
    const driver: QueueDriver = {
      claim: async (n, leaseMs) => {
        const now = Date.now();
        if (resolved.ephemeral && now >= renewAt) {
          renewAt = now + EPHEMERAL_TTL_MS / 3;
          await this.query(this.sql.renewEphemeral, [topic, group, EPHEMERAL_TTL_MS]);
          await this.query(this.sql.sweepExpired, []);
          await this.query(this.sql.sweepOrphans, []);
        }
        const { rows } = await this.query<{ id: string; body: Buffer; deliveries: number; lease_token: string }>(this.sql.claim, [
          topic,
          group,
          resolved.consumer,
          n,
          leaseMs,
        ]);
        if (rows.length === 0 && !resolved.ephemeral && now >= adoptAt) {
          adoptAt = now + ADOPT_EVERY_MS;
          await this.query(this.sql.register, [topic, group]);
        }
        return rows.map((r): QueueRow => ({ id: r.id, body: r.body, deliveries: r.deliveries, token: r.lease_token }));
      },
      // acks of one tick go in one DELETE; the token pairs in its WHERE say which were fenced
      ack: (row) =>
        new Promise<boolean>((resolve, reject) => {
          if (acks.length === 0) queueMicrotask(flushAcks);
          acks.push({ id: row.id, token: row.token, resolve, reject });
        }),
      extend: async (row, leaseMs) => ((await this.query(this.sql.extend, [row.id, row.token, leaseMs])).rowCount ?? 0) > 0,
      retry: async (row, delayMs, error) =>
        ((await this.query(this.sql.retry, [row.id, row.token, delayMs, error.code, error.message])).rowCount ?? 0) > 0,
      deadLetter: async (row, deliveries, error, raw) =>
        ((await this.query(this.sql.deadLetter, [row.id, row.token, deliveries, error.code, error.message, raw])).rowCount ?? 0) > 0,
      release: async () => {
        if (resolved.ephemeral) await this.query(this.sql.dropGroup, [topic, group]);
      },
    };
    let set = this.consumers.get(topic);
    if (!set) this.consumers.set(topic, (set = new Set()));
    const consumer = new PollingConsumer(driver, handler, resolved, {
      serializer: this.serializer,
      pollMs: this.options.pollMs ?? 1_000,
      minPollMs: 50,
      onClosed: () => set.delete(consumer),
    });
    set.add(consumer);
    consumer.start();
    return consumer;
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    await this.ensureReady();
    const { rows } = await this.query<{
      id: string;
      grp: string;
      body: Buffer;
      deliveries: number;
      code: string;
      message: string;
      dead_at: string;
    }>(this.sql.listDead, [topic, limit]);
    return rows.map((r) => {
      let envelope: BusEnvelope | null = null;
      try {
        envelope = decodeEnvelope(r.body, this.serializer);
      } catch {
        envelope = null;
      }
      const letter: DeadLetter = {
        id: r.id,
        topic,
        group: r.grp,
        envelope,
        error: { code: r.code, message: r.message },
        deliveryCount: r.deliveries,
        deadAt: Number(r.dead_at),
      };
      if (envelope === null) letter.raw = bytesToBase64(r.body);
      return letter;
    });
  }

  /**
   * Hands a dead letter back to the group it died in as a new row (its next
   * delivery is count 1); repeatable. `false` when the id is unknown or its
   * (ephemeral) group is gone.
   */
  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    if (!/^\d+$/.test(id)) return false;
    await this.ensureReady();
    const { rowCount } = await this.query(this.sql.retryDead, [topic, id, this.channel]);
    return (rowCount ?? 0) > 0;
  }

  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    await this.ensureReady();
    const numeric = ids?.filter((id) => /^\d+$/.test(id));
    if (numeric !== undefined && numeric.length === 0) return 0;
    const { rowCount } = await this.query(this.sql.purgeDead, [topic, numeric ?? null]);
    return rowCount ?? 0;
  }

  /** Drops the queue tables of this schema (and the schema unless it is `public`). For tests and teardown. */
  async purge(): Promise<void> {
    const pool = new pg.Pool({ ...this.listenerConfig, max: 1 });
    pool.on('error', () => {});
    try {
      if (this.schema === 'public') {
        await pool.query('DROP TABLE IF EXISTS public.pf_queue_jobs, public.pf_queue_groups, public.pf_queue_dead');
      } else {
        await pool.query(`DROP SCHEMA IF EXISTS "${this.schema.replace(/"/g, '""')}" CASCADE`);
      }
    } finally {
      await pool.end();
    }
  }

  /**
   * Test seam (internal): behaves as if this process was SIGKILLed. Poll
   * loops and timers stop at once, nothing is drained, acked or handed back,
   * unsent publishes fail, the connections are dropped; every later statement
   * is refused, so a handler still running in this process reaches nothing.
   * Its leases run out and the rows go to other consumers. Used by the
   * conformance suite's `capabilities.crash`.
   */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    this.crashed = true;
    for (const set of this.consumers.values()) for (const c of set) c.halt();
    for (const items of this.batches.values()) for (const i of items) i.reject(new BusUnavailableError('The PostgreSQL queue crashed (test seam)'));
    this.batches.clear();
    const listener = this.listener;
    this.listener = undefined;
    void listener?.end().catch(() => {});
    if (this.ownsPool) void this.pool.end().catch(() => {});
  }

  /** Stops consumers (draining handlers), waits for in-flight publishes, then releases connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.consumers.values()].flatMap((s) => [...s]);
    await Promise.all(all.map((c) => c.close()));
    for (const topic of [...this.batches.keys()]) this.flush(topic);
    await Promise.allSettled([...this.inflight]);
    await this.ready?.catch(() => {});
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    if (this.ownsPool) await this.pool.end().catch(() => {});
  }
}

/**
 * Connects (bounded), creates the tables if needed and starts LISTEN. An
 * unreachable database gives one {@link BusUnavailableError} naming
 * `host:port` (unless `lazyConnect`, which defers all of it to first use).
 *
 * @example
 * const queue = await createPostgresQueue({ url: process.env.DATABASE_URL, schema: 'penguiflow' });
 */
export async function createPostgresQueue(options: PostgresQueueOptions = {}): Promise<PostgresQueue> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = options.url;
  const base: pg.ClientConfig = url ? { connectionString: url } : ((options.pool?.options as pg.ClientConfig | undefined) ?? {});
  const config: pg.ClientConfig = { ...base, connectionTimeoutMillis: timeoutMs };
  const host = url
    ? safeHost(url, 5432)
    : `${String(config.host ?? '127.0.0.1')}:${String(config.port ?? 5432)}`;
  // the server gives up on a statement when the caller does, so one reported as failed does not commit later
  const pool = options.pool ?? new pg.Pool({ ...config, statement_timeout: timeoutMs, max: options.maxConnections ?? 10 });
  pool.on('error', () => {});
  const queue = new PostgresQueue(pool, options.pool === undefined, config, host, options);
  if (options.lazyConnect) {
    void queue.init().catch(() => {}); // a head start; the first use waits for it or tries again
    return queue;
  }
  try {
    await queue.init();
  } catch (error) {
    await queue.close().catch(() => {});
    throw error instanceof BusUnavailableError ? error : busUnavailable('PostgreSQL', host, error);
  }
  return queue;
}
