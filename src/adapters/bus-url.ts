import { InvalidOptionsError } from '../errors/index.js';
import type { ConsumableBus } from '../protocols/message-bus.js';
import { loadPeer } from '../peers/peer.js';
import type { PeerName } from '../peers/peer-table.js';

/** The driver each URL scheme loads. */
const PEERS_BY_SCHEME: Record<string, readonly PeerName[]> = {
  redis: ['ioredis'],
  rediss: ['ioredis'],
  nats: ['@nats-io/transport-node', '@nats-io/jetstream'],
  amqp: ['amqplib'],
  amqps: ['amqplib'],
  postgres: ['pg'],
  postgresql: ['pg'],
  sqlite: ['better-sqlite3'],
};

/**
 * Opens a message bus from a URL; the adapter (and its driver) is imported on
 * demand. `?prefix=` sets the adapter's key/stream prefix.
 *
 * - `redis://host:6379` — Redis Streams
 * - `nats://host:4222` — NATS JetStream
 * - `amqp://user:pw@host:5672` — RabbitMQ
 * - `postgres://user@host:5432/db?schema=queue` — a PostgreSQL queue (no broker)
 * - `sqlite:<path>` — a SQLite queue in a file (no broker, one machine)
 * - `memory:` — in process (tests, single-process demos)
 *
 * @example
 * const bus = await openMessageBus(process.env.PENGUIFLOW_BUS!); // yours to close: await bus.close()
 */
export async function openMessageBus(url: string): Promise<ConsumableBus> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const prefix = scheme === 'memory' || scheme === 'sqlite' ? undefined : (new URL(url).searchParams.get('prefix') ?? undefined);
  const plain = (u: string) => {
    const parsed = new URL(u);
    parsed.searchParams.delete('prefix');
    return parsed.toString();
  };
  const peers = PEERS_BY_SCHEME[scheme ?? ''];
  for (const peer of peers ?? []) loadPeer(peer); // one MISSING_PEER before any connect attempt
  switch (scheme ?? '') {
    case 'memory': {
      const { InMemoryMessageBus } = await import('./memory/memory-message-bus.js');
      return new InMemoryMessageBus();
    }
    case 'redis':
    case 'rediss': {
      const { createRedisMessageBus } = await import('./redis/index.js');
      return createRedisMessageBus({ url: plain(url), prefix });
    }
    case 'nats': {
      const { createNatsMessageBus } = await import('./nats/index.js');
      return createNatsMessageBus({ servers: plain(url), prefix });
    }
    case 'amqp':
    case 'amqps': {
      const { createRabbitMessageBus } = await import('./rabbitmq/index.js');
      return createRabbitMessageBus({ url: plain(url), prefix });
    }
    case 'postgres':
    case 'postgresql': {
      const u = new URL(url);
      const schema = u.searchParams.get('schema') ?? prefix;
      u.searchParams.delete('schema');
      u.searchParams.delete('prefix');
      const { createPostgresQueue } = await import('./postgres/postgres-queue.js');
      // lazyConnect: a worker started before its database waits for it (its consume is retried) instead of exiting
      return createPostgresQueue({ url: u.toString(), schema, lazyConnect: true });
    }
    case 'sqlite': {
      const path = url.slice('sqlite:'.length).replace(/^\/\//, '') || '.penguiflow/queue.db';
      const { createSqliteQueue } = await import('./sqlite/sqlite-queue.js');
      return createSqliteQueue({ path });
    }
    default:
      throw new InvalidOptionsError(`Unknown bus URL scheme in ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}: use redis://, nats://, amqp://, postgres://, sqlite: or memory:`);
  }
}
