/**
 * `registerAgent`: announces an A2A server instance in an AgentRegistry,
 * heartbeats with its load, registers again if its entry expired (a long GC
 * pause, a registry restart), and deregisters on `close()`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidOptionsError } from '../errors/index.js';
import type { AgentInstance, AgentLoad, AgentRegistry } from '../protocols/agent-registry.js';
import { assertAgentInstance } from './validate.js';

/** What registerAgent needs from a server: its card for a base URL, and optionally its running task count (`createA2AServer` has both). */
export interface RegistrableServer {
  card(baseUrl: string): unknown;
  readonly tasks?: { readonly runningCount: number };
}

export interface RegisterAgentOptions {
  registry: AgentRegistry;
  /** The base URL callers use (e.g. what `server.listen()` returned, or a public address). */
  url: string;
  /** Card and load come from it. Give `server` or `card`. */
  server?: RegistrableServer;
  card?: Record<string, unknown>;
  /** Default `<card name>-<host>-<pid>-<random>`. */
  id?: string;
  /** Concurrent calls before it queues. Default 16. */
  capacity?: number;
  /** Default 1 s. */
  heartbeatMs?: number;
  /** Default 3 × heartbeatMs. */
  ttlMs?: number;
  /** The load to report; default `{ inflight: server.tasks.runningCount, queueDepth: 0 }`. */
  load?: () => AgentLoad;
  labels?: AgentInstance['labels'];
  /** Heartbeat failures (the loop keeps going). Default: ignored. */
  onError?: (error: unknown) => void;
}

export interface AgentRegistration {
  readonly instance: AgentInstance;
  /** Sends one heartbeat now (registers again when the entry is gone). */
  beat(): Promise<void>;
  /** Stops heartbeating and deregisters (bounded: a registry that does not answer is left to expire the entry). */
  close(): Promise<void>;
}

/**
 * @example
 * const server = createA2AServer({ flow, store, card: { name: 'researcher', description: '…', skills } });
 * const { url } = await server.listen({ port: 8081 });
 * const reg = await registerAgent({ registry, server, url, capacity: 8 });
 * process.on('SIGTERM', () => void reg.close().then(() => server.close()));
 */
export async function registerAgent(options: RegisterAgentOptions): Promise<AgentRegistration> {
  const card = (options.card ?? options.server?.card(options.url)) as Record<string, unknown> | undefined;
  if (!card || typeof card.name !== 'string') throw new InvalidOptionsError('registerAgent needs a server or a card with a name');
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const ttlMs = options.ttlMs ?? heartbeatMs * 3;
  const skills = Array.isArray(card.skills) ? (card.skills as { id?: unknown }[]).map((s) => s.id).filter((s): s is string => typeof s === 'string') : [];
  const instance: AgentInstance = {
    id: options.id ?? `${card.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`,
    name: card.name,
    url: options.url,
    skills,
    card,
    capacity: options.capacity ?? 16,
    heartbeatMs,
  };
  if (options.labels) instance.labels = options.labels;
  assertAgentInstance(instance);
  const load = options.load ?? (() => ({ inflight: options.server?.tasks?.runningCount ?? 0, queueDepth: 0 }));
  const registry = options.registry;
  await registry.register(instance, ttlMs);

  let closed = false;
  let beating: Promise<void> = Promise.resolve();
  const beatOnce = async () => {
    if (closed) return;
    try {
      const alive = await registry.heartbeat(instance.id, load());
      if (!alive && !closed) await registry.register(instance, ttlMs);
    } catch (error) {
      options.onError?.(error);
    }
  };
  let pending = false;
  const timer = setInterval(() => {
    if (pending) return; // the registry is slow: skip this beat rather than queue them up
    pending = true;
    beating = beating.then(beatOnce).finally(() => (pending = false));
  }, heartbeatMs);
  timer.unref();

  return {
    instance,
    beat: () => (beating = beating.then(beatOnce)),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await beating;
      await Promise.race([registry.deregister(instance.id).catch((error: unknown) => options.onError?.(error)), new Promise((r) => setTimeout(r, 2_000).unref())]);
    },
  };
}
