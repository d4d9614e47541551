import { setTimeout as sleep } from 'node:timers/promises';
import type { QueryResult, QueryResultRow } from 'pg';
import { StoreUnavailableError } from '../../errors/index.js';
import { describeTarget, isConnectionError, isTransient, mapPgError, type PgTarget } from './errors.js';

/** What the store needs from a connection. */
/** A statement; with `name` it is prepared once per connection and its plan reused. */
export interface Statement {
  name?: string;
  text: string;
  values?: unknown[];
}

export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string | Statement, values?: unknown[]): Promise<QueryResult<R>>;
}

/** What the store needs from a pool: `pg.Pool` fits, and so does a single client wrapped by {@link singleClientPool}. */
export interface PoolLike {
  connect(): Promise<Queryable & { release(destroy?: boolean | Error): void }>;
  end?(): Promise<void>;
}

export interface RunOptions {
  /**
   * True when running the work twice has the same effect as once (ON CONFLICT
   * inserts, upserts, reads): it is then retried after a lost connection too.
   * Other work is retried only when it never reached the server (connect
   * failed) or the server rolled it back (deadlock, serialization failure).
   */
  idempotent: boolean;
  /** Prepare the statement under this name (per connection) so its plan is reused. */
  name?: string;
}

/**
 * Runs work on a pooled connection with retries: a restarted server, a
 * dropped connection or a deadlock is retried with backoff until
 * `retryForMs` has passed, then reported as one typed error.
 */
export class PgRunner {
  closed = false;
  /** Connection-level failures seen (each retried or reported). */
  connectionErrors = 0;

  constructor(
    private readonly pool: PoolLike,
    readonly target: PgTarget,
    private readonly retryForMs: number,
  ) {}

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, values: unknown[], options: RunOptions): Promise<R[]> {
    const statement: string | Statement = options.name ? { name: options.name, text: sql, values } : sql;
    return this.run(async (c) => (await c.query<R>(statement, options.name ? undefined : values)).rows, options);
  }

  /** Runs `fn` inside BEGIN … COMMIT on one connection. */
  async tx<T>(fn: (c: Queryable) => Promise<T>, options: RunOptions): Promise<T> {
    return this.run(async (c) => {
      await c.query('BEGIN');
      try {
        const result = await fn(c);
        await c.query('COMMIT');
        return result;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }, options);
  }

  async run<T>(fn: (c: Queryable) => Promise<T>, options: RunOptions, retryForMs = this.retryForMs): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new StoreUnavailableError(`The PostgreSQL store at ${describeTarget(this.target)} is closed`, { retryable: false });
      let client: Awaited<ReturnType<PoolLike['connect']>> | undefined;
      let reachedServer = false;
      try {
        client = await this.pool.connect();
        reachedServer = true;
        const result = await fn(client);
        client.release();
        return result;
      } catch (error) {
        const broken = isConnectionError(error);
        if (broken) this.connectionErrors++;
        client?.release(broken ? (error as Error) : undefined);
        const retryable = isTransient(error) || (broken && (options.idempotent || !reachedServer));
        if (!retryable || this.closed || Date.now() - started >= retryForMs) throw mapPgError(error, this.target);
        await sleep(Math.min(1_000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }
}

/**
 * Wraps one `pg.Client` as a pool of one, so transactions never interleave.
 * The store never closes an injected client.
 */
export function singleClientPool(client: Queryable): PoolLike {
  let tail: Promise<void> = Promise.resolve();
  return {
    connect() {
      let release!: () => void;
      const turn = new Promise<void>((resolve) => (release = resolve));
      const query: Queryable['query'] = (text, values) => client.query(text, values);
      const ready = tail.then(() => ({ query, release: () => release() }));
      tail = tail.then(() => turn);
      return ready;
    },
  };
}
