import Database from '../../peers/better-sqlite3.js';
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
import { resolveConsumeOptions } from '../../distributed/bus-consumer.js';
import { PollingConsumer, type QueueDriver } from '../../distributed/bus-poll-consumer.js';

const ADOPT_EVERY_MS = 5_000;

export interface SqliteQueueOptions {
  /** Database file (created if missing) or `:memory:`. Default `:memory:`. Ignored when `database` is given. */
  path?: string;
  /** An open better-sqlite3 database; the queue does not close it. */
  database?: Database.Database;
  /** Prefix of the queue tables. Default `pf_queue`. */
  tablePrefix?: string;
  serializer?: Serializer;
  /** Longest sleep between polls when idle (ms); polls back off from 10 ms up to this. Default 500. */
  pollMs?: number;
}

/** An ephemeral group is renewed every third of this; a crashed process's group is swept after it. */
const EPHEMERAL_TTL_MS = 60_000;

interface PendingPublish {
  topic: string;
  bytes: Uint8Array;
  id: string | null;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A durable queue in SQLite (better-sqlite3, WAL) for the embedded default
 * and for several worker processes on one machine, implementing
 * {@link ConsumableBus}: a jobs table claimed in an IMMEDIATE transaction with
 * a fenced lease (`visible_at` + a random `lease_token` per claim that every
 * ack, nack, extend and dead-letter must match), delivery counts, a
 * dead-letter table, publishes deduplicated by envelope id per group. Consumers in
 * the same process are woken at once by a publish; other processes find new
 * work by polling with backoff (10 ms up to `pollMs`).
 *
 * @example
 * const queue = createSqliteQueue({ path: './.penguiflow/queue.db' });
 * await queue.consume('summarize', 'workers', async (d) => work(d.envelope.message));
 */
export class SqliteQueue implements ConsumableBus {
  private readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly serializer: Serializer;
  private readonly consumers = new Map<string, Set<PollingConsumer>>();
  private readonly stmts: ReturnType<SqliteQueue['prepare']>;
  private batch: PendingPublish[] = [];
  private closed = false;
  private crashed = false;

  constructor(private readonly options: SqliteQueueOptions = {}) {
    this.ownsDb = options.database === undefined;
    try {
      this.db = options.database ?? new Database(options.path ?? ':memory:');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
    } catch (error) {
      throw new BusUnavailableError(`SQLite queue file cannot be opened: ${options.path ?? ':memory:'}`, { cause: error });
    }
    this.serializer = options.serializer ?? jsonSerializer;
    this.migrate();
    this.stmts = this.prepare();
  }

  private get t() {
    const p = (this.options.tablePrefix ?? 'pf_queue').replace(/[^A-Za-z0-9_]/g, '_');
    return { jobs: `${p}_jobs`, groups: `${p}_groups`, dead: `${p}_dead` };
  }

  private migrate(): void {
    const { jobs, groups, dead } = this.t;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${jobs} (
        id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, grp TEXT, body BLOB NOT NULL,
        deliveries INTEGER NOT NULL DEFAULT 0, visible_at INTEGER NOT NULL, locked_by TEXT,
        last_code TEXT, last_message TEXT);
      CREATE INDEX IF NOT EXISTS ${jobs}_claim ON ${jobs} (topic, grp, visible_at, id);
      CREATE TABLE IF NOT EXISTS ${groups} (topic TEXT NOT NULL, grp TEXT NOT NULL, expires_at INTEGER, PRIMARY KEY (topic, grp));
      CREATE TABLE IF NOT EXISTS ${dead} (
        id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, grp TEXT NOT NULL, body BLOB NOT NULL,
        deliveries INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, raw INTEGER NOT NULL, dead_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS ${dead}_topic ON ${dead} (topic, id);
    `);
    // upgrades of tables created by earlier versions: ephemeral groups, fenced leases, publish dedup
    this.db.transaction(() => {
      const has = (table: string, column: string) =>
        this.db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().some((c) => c.name === column);
      if (!has(groups, 'expires_at')) this.db.exec(`ALTER TABLE ${groups} ADD COLUMN expires_at INTEGER`);
      if (!has(jobs, 'lease_token')) this.db.exec(`ALTER TABLE ${jobs} ADD COLUMN lease_token TEXT`);
      if (!has(jobs, 'env_id')) this.db.exec(`ALTER TABLE ${jobs} ADD COLUMN env_id TEXT`);
      if (!has(dead, 'env_id')) this.db.exec(`ALTER TABLE ${dead} ADD COLUMN env_id TEXT`);
      this.db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${jobs}_env ON ${jobs} (topic, coalesce(grp, ''), env_id)`);
    }).immediate();
  }

  private prepare() {
    const { jobs, groups, dead } = this.t;
    const db = this.db;
    return {
      groupsOf: db.prepare<[string, number], { grp: string }>(
        `SELECT grp FROM ${groups} WHERE topic = ? AND (expires_at IS NULL OR expires_at > ?)`,
      ),
      registerEphemeral: db.prepare(
        `INSERT INTO ${groups} (topic, grp, expires_at) VALUES (?, ?, ?) ON CONFLICT (topic, grp) DO UPDATE SET expires_at = excluded.expires_at`,
      ),
      renewEphemeral: db.prepare(`UPDATE ${groups} SET expires_at = ? WHERE topic = ? AND grp = ?`),
      dropJobs: db.prepare(`DELETE FROM ${jobs} WHERE topic = ? AND grp = ?`),
      dropGroup: db.prepare(`DELETE FROM ${groups} WHERE topic = ? AND grp = ?`),
      sweepJobs: db.prepare(
        `DELETE FROM ${jobs} WHERE EXISTS (SELECT 1 FROM ${groups} g WHERE g.topic = ${jobs}.topic AND g.grp = ${jobs}.grp AND g.expires_at < ?)`,
      ),
      sweepGroups: db.prepare(`DELETE FROM ${groups} WHERE expires_at < ?`),
      sweepOrphans: db.prepare(
        `DELETE FROM ${jobs} WHERE grp IS NULL AND topic IN (SELECT topic FROM ${groups} GROUP BY topic HAVING max(expires_at IS NULL) = 0)`,
      ),
      // an envelope id already queued for the group is not queued again (a retried publish is harmless)
      insert: db.prepare(`INSERT OR IGNORE INTO ${jobs} (topic, grp, body, env_id, visible_at) VALUES (?, ?, ?, ?, ?)`),
      register: db.prepare(`INSERT OR IGNORE INTO ${groups} (topic, grp) VALUES (?, ?)`),
      groupExists: db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM ${groups} WHERE topic = ? AND grp = ?`),
      // orphans whose id the group already has stay behind the OR IGNORE and are dropped by dropOrphans
      adopt: db.prepare(`UPDATE OR IGNORE ${jobs} SET grp = ? WHERE topic = ? AND grp IS NULL`),
      dropOrphans: db.prepare(`DELETE FROM ${jobs} WHERE topic = ? AND grp IS NULL`),
      claim: db.prepare<[number, string, string, string, number, number], ClaimRow>(`
        UPDATE ${jobs} SET visible_at = ?, locked_by = ?, deliveries = deliveries + 1, lease_token = lower(hex(randomblob(12)))
        WHERE id IN (SELECT id FROM ${jobs} WHERE topic = ? AND grp = ? AND visible_at <= ? ORDER BY id LIMIT ?)
        RETURNING id, body, deliveries, lease_token`),
      ack: db.prepare<[number, string]>(`DELETE FROM ${jobs} WHERE id = ? AND lease_token = ?`),
      extend: db.prepare<[number, number, string]>(`UPDATE ${jobs} SET visible_at = ? WHERE id = ? AND lease_token = ?`),
      retry: db.prepare<[number, string, string, number, string]>(
        `UPDATE ${jobs} SET visible_at = ?, locked_by = NULL, lease_token = NULL, last_code = ?, last_message = ? WHERE id = ? AND lease_token = ?`,
      ),
      deadInsert: db.prepare<[number, string, string, number, number, number, string]>(`
        INSERT INTO ${dead} (topic, grp, body, env_id, deliveries, code, message, raw, dead_at)
        SELECT topic, coalesce(grp, ''), body, env_id, ?, ?, ?, ?, ? FROM ${jobs} WHERE id = ? AND lease_token = ?`),
      listDead: db.prepare<[string, number], DeadRow>(`SELECT * FROM ${dead} WHERE topic = ? ORDER BY id LIMIT ?`),
      getDead: db.prepare<[string, number], DeadRow>(`SELECT * FROM ${dead} WHERE topic = ? AND id = ?`),
      deleteDead: db.prepare(`DELETE FROM ${dead} WHERE id = ?`),
      purgeDead: db.prepare<[string]>(`DELETE FROM ${dead} WHERE topic = ?`),
      purgeDeadOne: db.prepare<[string, number]>(`DELETE FROM ${dead} WHERE topic = ? AND id = ?`),
    };
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    return this.enqueue(envelope.topic, this.serializer.encode(envelope), envelope.id);
  }

  /** Inserts raw bytes as a foreign producer would (tests of undecodable input); raw rows are not deduplicated. */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    return this.enqueue(topic, bytes, null);
  }

  /** Publishes of one tick are written in one transaction. */
  private enqueue(topic: string, bytes: Uint8Array, id: string | null): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('The SQLite queue is closed'));
    return new Promise<void>((resolve, reject) => {
      if (this.batch.length === 0) queueMicrotask(() => this.flush());
      this.batch.push({ topic, bytes, id, resolve, reject });
    });
  }

  private flush(): void {
    const items = this.batch;
    this.batch = [];
    if (items.length === 0) return;
    try {
      const now = Date.now();
      this.db.transaction(() => {
        const targets = new Map<string, (string | null)[]>();
        for (const item of items) {
          let groups = targets.get(item.topic);
          if (!groups) {
            const rows = this.stmts.groupsOf.all(item.topic, now).map((r) => r.grp);
            targets.set(item.topic, (groups = rows.length > 0 ? rows : [null]));
          }
          for (const grp of groups) this.stmts.insert.run(item.topic, grp, Buffer.from(item.bytes), item.id, now);
        }
      }).immediate(); // read-then-write: take the write lock first, or a concurrent writer makes the upgrade fail with SQLITE_BUSY
      for (const item of items) item.resolve();
      for (const topic of new Set(items.map((i) => i.topic))) for (const c of this.consumers.get(topic) ?? []) c.wake();
    } catch (error) {
      const wrapped = new BusUnavailableError('The SQLite queue rejected the publish', { cause: error });
      for (const item of items) item.reject(wrapped);
    }
  }

  /** The database, or BusUnavailableError once this queue crashed (test seam) or closed its file. */
  private live(): Database.Database {
    if (this.crashed || !this.db.open) throw new BusUnavailableError('The SQLite queue is closed');
    return this.db;
  }

  /** Registers the group and adopts envelopes published while the topic had no group. */
  private register(topic: string, group: string): void {
    const s = this.stmts;
    this.live()
      .transaction(() => {
        s.register.run(topic, group);
        s.adopt.run(group, topic);
        s.dropOrphans.run(topic);
      })
      .immediate();
  }

  /**
   * Registers `group` on `topic`: from now on every publish queues a row for
   * it, and envelopes published while the topic had no group are adopted.
   * Idempotent.
   */
  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The SQLite queue is closed');
    this.register(topic, group);
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The SQLite queue is closed');
    const resolved = resolveConsumeOptions(options);
    const s = this.stmts;
    if (resolved.ephemeral) s.registerEphemeral.run(topic, group, Date.now() + EPHEMERAL_TTL_MS);
    else this.register(topic, group);
    let renewAt = Date.now() + EPHEMERAL_TTL_MS / 3;
    let adoptAt = Date.now() + ADOPT_EVERY_MS;
    const changed = (result: Database.RunResult) => result.changes > 0;
    const driver: QueueDriver = {
      claim: async (n, leaseMs) => {
        const db = this.live();
        const now = Date.now();
        if (resolved.ephemeral && now >= renewAt) {
          renewAt = now + EPHEMERAL_TTL_MS / 3;
          db.transaction(() => {
            s.renewEphemeral.run(now + EPHEMERAL_TTL_MS, topic, group);
            s.sweepJobs.run(now);
            s.sweepGroups.run(now);
            s.sweepOrphans.run();
          }).immediate();
        }
        const rows = db.transaction(() => s.claim.all(now + leaseMs, resolved.consumer, topic, group, now, n)).immediate();
        if (rows.length === 0 && !resolved.ephemeral && now >= adoptAt) {
          adoptAt = now + ADOPT_EVERY_MS;
          this.register(topic, group); // another process may have published before any group existed
        }
        return rows
          .sort((x, y) => x.id - y.id)
          .map((r) => ({ id: String(r.id), body: r.body, deliveries: r.deliveries, token: r.lease_token }));
      },
      ack: async (row) => (this.live(), changed(s.ack.run(Number(row.id), row.token))),
      extend: async (row, leaseMs) => (this.live(), changed(s.extend.run(Date.now() + leaseMs, Number(row.id), row.token))),
      retry: async (row, delayMs, error) =>
        (this.live(), changed(s.retry.run(Date.now() + delayMs, error.code, error.message, Number(row.id), row.token))),
      deadLetter: async (row, deliveries, error, raw) =>
        this.live()
          .transaction(() => {
            const moved = changed(s.deadInsert.run(deliveries, error.code, error.message, raw ? 1 : 0, Date.now(), Number(row.id), row.token));
            if (moved) s.ack.run(Number(row.id), row.token);
            return moved;
          })
          .immediate(),
      release: async () => {
        if (!resolved.ephemeral || !this.db.open || this.crashed) return;
        this.db.transaction(() => {
          s.dropJobs.run(topic, group);
          s.dropGroup.run(topic, group);
        }).immediate();
      },
    };
    let set = this.consumers.get(topic);
    if (!set) this.consumers.set(topic, (set = new Set()));
    const consumer = new PollingConsumer(driver, handler, resolved, {
      serializer: this.serializer,
      pollMs: this.options.pollMs ?? 500,
      minPollMs: 10,
      onClosed: () => set.delete(consumer),
    });
    set.add(consumer);
    consumer.start();
    return consumer;
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    this.live();
    return this.stmts.listDead.all(topic, limit).map((r) => {
      let envelope: BusEnvelope | null = null;
      try {
        envelope = decodeEnvelope(r.body, this.serializer);
      } catch {
        envelope = null;
      }
      const letter: DeadLetter = {
        id: String(r.id),
        topic,
        group: r.grp,
        envelope,
        error: { code: r.code, message: r.message },
        deliveryCount: r.deliveries,
        deadAt: r.dead_at,
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
    const found = this.live()
      .transaction(() => {
        const row = this.stmts.getDead.get(topic, Number(id));
        if (!row || !this.stmts.groupExists.get(topic, row.grp)) return false;
        this.stmts.insert.run(topic, row.grp, row.body, row.env_id, Date.now());
        this.stmts.deleteDead.run(row.id);
        return true;
      })
      .immediate();
    if (found) for (const c of this.consumers.get(topic) ?? []) c.wake();
    return found;
  }

  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    const db = this.live();
    if (ids === undefined) return this.stmts.purgeDead.run(topic).changes;
    return db
      .transaction(() => ids.filter((id) => /^\d+$/.test(id)).reduce((n, id) => n + this.stmts.purgeDeadOne.run(topic, Number(id)).changes, 0))
      .immediate();
  }

  /** Drops the queue tables. For tests and teardown. */
  async purge(): Promise<void> {
    const { jobs, groups, dead } = this.t;
    if (this.db.open) this.db.exec(`DROP TABLE IF EXISTS ${jobs}; DROP TABLE IF EXISTS ${groups}; DROP TABLE IF EXISTS ${dead};`);
  }

  /**
   * Test seam (internal): behaves as if this process was SIGKILLed. Poll
   * loops and timers stop at once, nothing is drained, acked or handed back,
   * unwritten publishes fail, and the file is closed (when the queue opened
   * it); every later statement is refused, so a handler still running in this
   * process reaches nothing. Its leases run out and the rows go to other
   * processes' consumers. Used by the conformance suite's `capabilities.crash`.
   */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    this.crashed = true;
    for (const set of this.consumers.values()) for (const c of set) c.halt();
    for (const item of this.batch.splice(0)) item.reject(new BusUnavailableError('The SQLite queue crashed (test seam)'));
    if (this.ownsDb) this.db.close();
  }

  /** Stops consumers (draining handlers), writes pending publishes, then closes the database if it owns it. */
  async close(): Promise<void> {
    if (this.closed) return;
    const all = [...this.consumers.values()].flatMap((s) => [...s]);
    await Promise.all(all.map((c) => c.close()));
    this.flush();
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }
}

interface ClaimRow {
  id: number;
  body: Buffer;
  deliveries: number;
  lease_token: string;
}

interface DeadRow {
  id: number;
  grp: string;
  body: Buffer;
  env_id: string | null;
  deliveries: number;
  code: string;
  message: string;
  raw: number;
  dead_at: number;
}

/** Factory form of {@link SqliteQueue}. */
export function createSqliteQueue(options?: SqliteQueueOptions): SqliteQueue {
  return new SqliteQueue(options);
}
