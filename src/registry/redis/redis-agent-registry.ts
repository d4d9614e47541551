/**
 * The AgentRegistry on Redis: one hash per instance with a TTL
 * (`<prefix>:agent:<id>`: `entry` JSON, `load` JSON, `hb` ms, `seq`), and a set
 * of ids (`<prefix>:agents`) that readers prune of expired keys. A heartbeat is
 * one Lua script (renew only if the key still exists), so an expired instance
 * must register again. `watch` polls `list` (one SMEMBERS + one pipelined
 * HGETALL per instance).
 */
import { Redis, type RedisOptions } from '../../peers/ioredis.js';
import { StoreUnavailableError } from '../../errors/index.js';
import type { AgentInstance, AgentLoad, AgentQuery, AgentRegistry, AgentRegistryChange, AgentWatchOptions, LiveAgentInstance } from '../../protocols/agent-registry.js';
import { assertAgentInstance, matchesQuery, parseEntry } from '../validate.js';
import { pollWatch } from '../watch.js';

export interface RedisAgentRegistryOptions {
  /** Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** An existing client; not quit on close. */
  client?: Redis;
  /** Key prefix. Default `pf`. */
  prefix?: string;
  /** Bound on every command. Default 2 s. */
  commandTimeoutMs?: number;
}

const HEARTBEAT = `
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], 'load', ARGV[1], 'hb', ARGV[2])
redis.call('hincrby', KEYS[1], 'seq', 1)
redis.call('pexpire', KEYS[1], tonumber(redis.call('hget', KEYS[1], 'ttl')))
return 1`;

/**
 * @example
 * const registry = await createRedisAgentRegistry({ url: 'redis://127.0.0.1:6379', prefix: 'prod' });
 */
export class RedisAgentRegistry implements AgentRegistry {
  private readonly setKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly owns: boolean,
    private readonly prefix = 'pf',
  ) {
    this.setKey = `${prefix}:agents`;
  }

  private key(id: string): string {
    return `${this.prefix}:agent:${id}`;
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new StoreUnavailableError(`Redis agent registry: ${op} failed`, { cause: error, details: { op } });
    }
  }

  async register(instance: AgentInstance, ttlMs: number): Promise<void> {
    assertAgentInstance(instance);
    const now = Date.now();
    const entry = JSON.stringify({ ...instance, registeredAt: now, ttlMs });
    const key = this.key(instance.id);
    await this.run('register', () =>
      this.redis
        .multi()
        .del(key)
        .hset(key, 'entry', entry, 'load', '{"inflight":0,"queueDepth":0}', 'hb', String(now), 'seq', '0', 'ttl', String(ttlMs))
        .pexpire(key, ttlMs)
        .sadd(this.setKey, instance.id)
        .exec(),
    );
  }

  async heartbeat(id: string, load: AgentLoad): Promise<boolean> {
    const key = this.key(id);
    const ok = await this.run('heartbeat', () => this.redis.eval(HEARTBEAT, 1, key, JSON.stringify({ inflight: load.inflight, queueDepth: load.queueDepth }), String(Date.now())));
    return ok === 1;
  }

  async deregister(id: string): Promise<void> {
    await this.run('deregister', () => this.redis.multi().del(this.key(id)).srem(this.setKey, id).exec());
  }

  async list(query?: AgentQuery): Promise<LiveAgentInstance[]> {
    const ids = (await this.run('list', () => this.redis.smembers(this.setKey))).sort();
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.key(id));
    const rows = await this.run('list', () => pipe.exec());
    const out: LiveAgentInstance[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const h = rows?.[i]?.[1] as Record<string, string> | undefined;
      if (!h || h.entry === undefined) return void gone.push(id);
      const base = parseEntry(id, h.entry);
      const load = parseEntry(id, h.load) as unknown as AgentLoad;
      const e = { ...base, id, load: { inflight: Number(load.inflight) || 0, queueDepth: Number(load.queueDepth) || 0 }, heartbeatAt: Number(h.hb) || 0, heartbeatSeq: Number(h.seq) || 0 };
      if (matchesQuery(e, query)) out.push(e);
    });
    if (gone.length > 0) await this.redis.srem(this.setKey, ...gone).catch(() => undefined);
    return out;
  }

  watch(query?: AgentQuery, options?: AgentWatchOptions): AsyncIterable<AgentRegistryChange[]> {
    return pollWatch((q) => this.list(q), query, options);
  }

  /** Writes a raw entry (tests of malformed entries). */
  async putRaw(id: string, entryText: string, ttlMs: number): Promise<void> {
    const key = this.key(id);
    await this.redis.multi().hset(key, 'entry', entryText, 'hb', String(Date.now()), 'seq', '0', 'ttl', String(ttlMs)).pexpire(key, ttlMs).sadd(this.setKey, id).exec();
  }

  async close(): Promise<void> {
    if (this.owns) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Connects (bounded) and returns a registry. */
export async function createRedisAgentRegistry(options: RedisAgentRegistryOptions = {}): Promise<RedisAgentRegistry> {
  if (options.client) return new RedisAgentRegistry(options.client, false, options.prefix);
  const timeout = options.commandTimeoutMs ?? 2_000;
  const redisOptions: RedisOptions = { lazyConnect: true, connectTimeout: timeout, commandTimeout: timeout, maxRetriesPerRequest: 1, connectionName: 'penguiflow:registry' };
  const redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', redisOptions);
  redis.on('error', () => {
    /* reconnects on its own; every command is bounded by commandTimeout */
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new StoreUnavailableError('Redis agent registry: cannot connect', { cause: error });
  }
  return new RedisAgentRegistry(redis, true, options.prefix);
}
