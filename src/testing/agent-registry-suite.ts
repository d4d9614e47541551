import { afterEach, beforeEach, describe, expect, it } from '../peers/vitest.js';
import { randomBytes } from 'node:crypto';
import type { AgentInstance, AgentRegistry, AgentRegistryChange } from '../protocols/agent-registry.js';
import { checkAgentInstance } from '../registry/validate.js';
import { isPenguiflowError } from '../errors/index.js';

export interface AgentRegistrySuiteOptions<R extends AgentRegistry = AgentRegistry> {
  /** Shown in the describe title. */
  name: string;
  /** A ready registry before every test. Tests use fresh names and ids, so registries MAY share data. */
  create: () => R | Promise<R>;
  /** After every test; default `registry.close?.()`. */
  destroy?: (registry: R) => void | Promise<void>;
  /** Skip everything, with a reason (e.g. "redis not reachable"). */
  skip?: string;
  /** Writes an entry bypassing validation (JSON text); enables the malformed-entry test. */
  writeRaw?: (registry: R, id: string, json: string, ttlMs: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uid = (p: string) => `${p}-${randomBytes(5).toString('hex')}`;

function instance(name: string, over: Partial<AgentInstance> = {}): AgentInstance {
  const id = over.id ?? uid(name);
  return { id, name, url: `http://127.0.0.1:${1024 + (parseInt(id.slice(-4), 16) % 60000)}`, skills: ['echo', `s-${name}`], card: { name, skills: [{ id: 'echo' }] }, capacity: 4, heartbeatMs: 100, ...over };
}

/**
 * The public AgentRegistry conformance suite: register, heartbeat (load and
 * sequence), TTL expiry, deregister, queries by name and skill, watch, and
 * (with `writeRaw`) a malformed entry that readers can tell apart.
 *
 * @example
 * import { describeAgentRegistry } from 'penguiflow/testing';
 * describeAgentRegistry({ name: 'memory', create: () => new MemoryAgentRegistry() });
 */
export function describeAgentRegistry<R extends AgentRegistry>(options: AgentRegistrySuiteOptions<R>): void {
  const title = options.skip ? `AgentRegistry conformance: ${options.name} (skipped: ${options.skip})` : `AgentRegistry conformance: ${options.name}`;
  describe.skipIf(options.skip !== undefined)(title, () => {
    let registry: R;
    beforeEach(async () => {
      registry = await options.create();
    });
    afterEach(async () => {
      if (options.destroy) await options.destroy(registry);
      else await registry.close?.();
    });

    it('lists a registered instance with zero load, by name and by skill', async () => {
      const name = uid('agent');
      const a = instance(name);
      const b = instance(name, { skills: ['other'] });
      await registry.register(a, 10_000);
      await registry.register(b, 10_000);
      const byName = await registry.list({ name });
      expect(byName.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
      const got = byName.find((e) => e.id === a.id)!;
      expect(got).toMatchObject({ name, url: a.url, capacity: 4, heartbeatMs: 100, load: { inflight: 0, queueDepth: 0 }, heartbeatSeq: 0, ttlMs: 10_000 });
      expect(got.card).toEqual(a.card);
      expect(checkAgentInstance(got)).toBeUndefined();
      expect((await registry.list({ skill: `s-${name}` })).map((e) => e.id)).toEqual([a.id]);
      expect((await registry.list({ name, skill: 'other' })).map((e) => e.id)).toEqual([b.id]);
      expect(await registry.list({ name: uid('nobody') })).toEqual([]);
    });

    it('stores the load of each heartbeat and counts heartbeats', async () => {
      const name = uid('agent');
      const a = instance(name);
      await registry.register(a, 10_000);
      expect(await registry.heartbeat(a.id, { inflight: 3, queueDepth: 7 })).toBe(true);
      expect(await registry.heartbeat(a.id, { inflight: 1, queueDepth: 0 })).toBe(true);
      const [got] = await registry.list({ name });
      expect(got).toMatchObject({ load: { inflight: 1, queueDepth: 0 }, heartbeatSeq: 2 });
      expect(await registry.heartbeat(uid('unknown'), { inflight: 0, queueDepth: 0 })).toBe(false);
    });

    it('expires an instance that stops heartbeating; heartbeats keep one alive', async () => {
      const name = uid('agent');
      const quiet = instance(name);
      const beating = instance(name);
      await registry.register(quiet, 300);
      await registry.register(beating, 300);
      for (let i = 0; i < 5; i++) {
        await sleep(120);
        expect(await registry.heartbeat(beating.id, { inflight: i, queueDepth: 0 })).toBe(true);
      }
      expect((await registry.list({ name })).map((e) => e.id)).toEqual([beating.id]);
      expect(await registry.heartbeat(quiet.id, { inflight: 0, queueDepth: 0 })).toBe(false);
    });

    it('deregisters at once; unknown ids are not an error', async () => {
      const name = uid('agent');
      const a = instance(name);
      await registry.register(a, 10_000);
      await registry.deregister(a.id);
      expect(await registry.list({ name })).toEqual([]);
      await registry.deregister(a.id);
      expect(await registry.heartbeat(a.id, { inflight: 0, queueDepth: 0 })).toBe(false);
    });

    it('replaces an entry registered again under the same id (a restart)', async () => {
      const name = uid('agent');
      const a = instance(name);
      await registry.register(a, 10_000);
      await registry.heartbeat(a.id, { inflight: 2, queueDepth: 0 });
      await sleep(5);
      await registry.register({ ...a, url: 'http://127.0.0.1:1/' }, 10_000);
      const all = await registry.list({ name });
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ url: 'http://127.0.0.1:1/', heartbeatSeq: 0, load: { inflight: 0, queueDepth: 0 } });
    });

    it('refuses to register a malformed instance (bad URL, card without name)', async () => {
      const name = uid('agent');
      for (const bad of [instance(name, { url: 'not a url' }), instance(name, { url: 'ftp://127.0.0.1/' }), instance(name, { card: {} })]) {
        const error = await registry.register(bad, 10_000).then(() => undefined, (e: unknown) => e);
        expect(isPenguiflowError(error, 'INVALID_OPTIONS')).toBe(true);
      }
      expect(await registry.list({ name })).toEqual([]);
    });

    it('watch yields the live entries, then heartbeats, registrations and removals', async () => {
      const name = uid('agent');
      const a = instance(name);
      const b = instance(name);
      await registry.register(a, 10_000);
      const ac = new AbortController();
      const batches: AgentRegistryChange[][] = [];
      const seen = (pred: (c: AgentRegistryChange) => boolean) => batches.some((batch) => batch.some(pred));
      const done = (async () => {
        for await (const batch of registry.watch({ name }, { signal: ac.signal, intervalMs: 50 })) batches.push(batch);
      })();
      try {
        await waitUntil(() => seen((c) => c.type === 'added' && c.instance.id === a.id));
        await registry.heartbeat(a.id, { inflight: 5, queueDepth: 1 });
        await waitUntil(() => seen((c) => c.type === 'updated' && c.instance.id === a.id && c.instance.load.inflight === 5));
        await registry.register(b, 10_000);
        await waitUntil(() => seen((c) => c.type === 'added' && c.instance.id === b.id));
        await registry.deregister(a.id);
        await waitUntil(() => seen((c) => c.type === 'removed' && c.instance.id === a.id));
      } finally {
        ac.abort();
        await done;
      }
    });

    it.skipIf(!options.writeRaw)(options.writeRaw ? 'returns a malformed entry as stored, so readers can skip it' : 'malformed entries (skipped: no writeRaw hook given)', async () => {
      const name = uid('agent');
      const id = uid('bad');
      await options.writeRaw!(registry, id, JSON.stringify({ id, name, url: 'javascript:alert(1)', skills: [], card: { name }, capacity: 1, heartbeatMs: 100 }), 10_000);
      const id2 = uid('bad');
      await options.writeRaw!(registry, id2, '{not json', 10_000);
      const all = await registry.list();
      const mine = all.filter((e) => e.id === id || e.id === id2);
      expect(mine).toHaveLength(2);
      for (const e of mine) expect(checkAgentInstance(e)).toBeDefined();
    });
  });
}

async function waitUntil(pred: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting for a watch change');
    await sleep(20);
  }
}
