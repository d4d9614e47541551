import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openAgentRegistry } from '../../src/registry/index.js';
import type { RedisAgentRegistry } from '../../src/registry/redis/index.js';
import { runNode, ROOT } from '../helpers/spawn.js';
import { serviceUrl } from '../helpers/services.js';
import path from 'node:path';

const redisUrl = await serviceUrl('redis');
const prefix = `pf-cli-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;

afterAll(async () => {
  if (!redisUrl) return;
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
});

// Runs the command module through a tiny commander program (the command is registered in src/cli/commands/index.ts by its owner).
const RUNNER = `
import { Command } from 'commander';
import { registerAgents } from '${path.join(ROOT, 'src/cli/commands/agents.ts')}';
const program = new Command('penguiflow');
registerAgents(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });
`;

describe.skipIf(!redisUrl)('penguiflow agents', () => {
  it('lists live instances with load and marks malformed entries as ignored', async () => {
    const url = `${redisUrl}?prefix=${prefix}`;
    const registry = (await openAgentRegistry(url)) as RedisAgentRegistry;
    await registry.register({ id: 'r-1', name: 'researcher', url: 'http://127.0.0.1:8081', skills: ['search'], card: { name: 'researcher' }, capacity: 8, heartbeatMs: 1000 }, 60_000);
    await registry.heartbeat('r-1', { inflight: 3, queueDepth: 1 });
    await registry.putRaw('bad-1', '{"id":"bad-1","name":"researcher","url":"ftp://x"}', 60_000);
    const run = (args: string[]) => runNode(['--import', 'tsx', '--input-type=module', '-e', RUNNER, '--', 'agents', '--registry', url, ...args], { timeoutMs: 60_000 });
    const text = await run([]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/r-1\s+researcher\s+http:\/\/127\.0\.0\.1:8081\s+in flight 3\/8\s+queued 1/);
    expect(text.stdout).toMatch(/bad-1\s+INVALID \(bad url/);
    const json = await run(['--json', '--skill', 'search']);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ id: 'r-1', load: { inflight: 3, queueDepth: 1 }, capacity: 8 });
    expect(lines[0]).not.toHaveProperty('card');
    await registry.close();
  });
});
