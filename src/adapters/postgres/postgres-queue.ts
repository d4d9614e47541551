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
}

/** An ephemeral group is renewed every third of this; a crashed process's group is swept after it. */
const EPHEMERAL_TTL_MS = 60_000;

interface PendingPublish {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A durable queue on PostgreSQL for users who run no broker, implementing
 * {@link ConsumableBus}: a jobs table claimed with `FOR UPDATE SKIP LOCKED`
 * and a lease (`visible_at`), `LISTEN/NOTIFY` to wake consumers at once,
 * delivery counts, a dead-letter table. Every group gets its own row per
 * envelope (fan-out at publish); envelopes published while a topic has no
 * group go to the first group that consumes it.
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
  private closed = false;

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

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withTimeout(this.pool.query<R>(text, values), this.timeoutMs, () => busUnavailable('PostgreSQL', this.host));
      } catch (error) {
        if (error instanceof BusUnavailableError) throw error;
        const code = (error as { code?: string }).code ?? '';
        // Each statement runs alone (autocommit), so one the server rolled back as a deadlock victim
        // (40P01) or a serialization failure (40001) is safe to run again.
        if ((code === '40P01' || code === '40001') && attempt < 5) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
          continue;
        }
        // connection-level failures (class 08, 57P) are "unavailable"; others are bugs and surface as they are
        if (/^(08|57P)/.test(code) || (error as Error).message.includes('connect')) throw busUnavailable('PostgreSQL', this.host, error);
        throw error;
      }
    }
  }

  /** @internal Creates tables (idempotent, serialised across processes) and starts LISTEN. */
  async init(): Promise<void> {
    const client = await withTimeout(this.pool.connect(), this.timeoutMs, () => busUnavailable('PostgreSQL', this.host));
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`penguiflow-queue:${this.schema}`]);
      await client.query(this.sql.migrate);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    await this.listen();
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
    await withTimeout(client.connect(), this.timeoutMs, () => busUnavailable('PostgreSQL', this.host));
    await client.query(`LISTEN "${this.channel}"`);
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
    return this.enqueue(envelope.topic, this.serializer.encode(envelope));
  }

  /** Inserts raw bytes as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    return this.enqueue(topic, bytes);
  }

  /** Publishes of one tick to one topic go in one INSERT. */
  private enqueue(topic: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('The PostgreSQL queue is closed'));
    return new Promise<void>((resolve, reject) => {
      let batch = this.batches.get(topic);
      if (!batch) {
        this.batches.set(topic, (batch = []));
        queueMicrotask(() => this.flush(topic));
      }
      batch.push({ bytes, resolve, reject });
    });
  }

  private flush(topic: string): void {
    const items = this.batches.get(topic) ?? [];
    this.batches.delete(topic);
    const bodies = items.map((i) => Buffer.from(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength));
    const p = this.query(this.sql.publish, [topic, bodies, this.channel]).then(
      () => items.forEach((i) => i.resolve()),
      (error: unknown) => items.forEach((i) => i.reject(error)),
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The PostgreSQL queue is closed');
    const resolved = resolveConsumeOptions(options);
    if (resolved.ephemeral) await this.query(this.sql.registerEphemeral, [topic, group, EPHEMERAL_TTL_MS]);
    else await this.query(this.sql.register, [topic, group]);
    let renewAt = Date.now() + EPHEMERAL_TTL_MS / 3;
    const acks: string[] = [];
    let ackFlush: Promise<void> | undefined;
    const driver: QueueDriver = {
      claim: async (n, leaseMs) => {
        if (resolved.ephemeral && Date.now() >= renewAt) {
          renewAt = Date.now() + EPHEMERAL_TTL_MS / 3;
          await this.query(this.sql.renewEphemeral, [topic, group, EPHEMERAL_TTL_MS]);
          await this.query(this.sql.sweepExpired, []);
          await this.query(this.sql.sweepOrphans, []);
        }
        const { rows } = await this.query<{ id: string; body: Buffer; deliveries: number; last_code: string | null; last_message: string | null }>(
          this.sql.claim,
          [topic, group, resolved.consumer, n, leaseMs],
        );
        return rows.map(
          (r): QueueRow => ({
            id: r.id,
            body: r.body,
            deliveries: r.deliveries,
            lastError: r.last_code === null ? undefined : { code: r.last_code, message: r.last_message ?? '' },
          }),
        );
      },
      ack: (id) => {
        acks.push(id);
        ackFlush ??= new Promise<void>((r) => queueMicrotask(r)).then(async () => {
          const ids = acks.splice(0);
          ackFlush = undefined;
          await this.query(this.sql.ack, [ids]);
        });
        return ackFlush;
      },
      retry: async (id, delayMs, error) => void (await this.query(this.sql.retry, [id, delayMs, error.code, error.message])),
      deadLetter: async (id, deliveries, error, raw) =>
        void (await this.query(this.sql.deadLetter, [id, deliveries, error.code, error.message, raw])),
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

  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    if (!/^\d+$/.test(id)) return false;
    const { rowCount } = await this.query(this.sql.retryDead, [topic, id, this.channel]);
    return (rowCount ?? 0) > 0;
  }

  /** Drops the queue tables of this schema (and the schema unless it is `public`). For tests and teardown. */
  async purge(): Promise<void> {
    const pool = new pg.Pool({ ...this.listenerConfig, max: 1 });
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

  /** Stops consumers (draining handlers), waits for in-flight publishes, then releases connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.consumers.values()].flatMap((s) => [...s]);
    await Promise.all(all.map((c) => c.close()));
    for (const topic of [...this.batches.keys()]) this.flush(topic);
    await Promise.allSettled([...this.inflight]);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    if (this.ownsPool) await this.pool.end().catch(() => {});
  }
}

/**
 * Connects (bounded), creates the tables if needed and starts LISTEN. An
 * unreachable database gives one {@link BusUnavailableError} naming `host:port`.
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
  const pool = options.pool ?? new pg.Pool({ ...config, max: options.maxConnections ?? 10 });
  pool.on('error', () => {});
  const queue = new PostgresQueue(pool, options.pool === undefined, config, host, options);
  try {
    await queue.init();
  } catch (error) {
    await queue.close().catch(() => {});
    throw error instanceof BusUnavailableError ? error : busUnavailable('PostgreSQL', host, error);
  }
  return queue;
}
