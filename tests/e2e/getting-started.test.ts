/** docs/getting-started.md: every step is a runnable file in examples/getting-started, run here as a user would. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { runNode, ROOT } from '../helpers/spawn.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-gs-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const redis = await serviceUrl('redis');
const step = (file: string, env: NodeJS.ProcessEnv = {}) =>
  runNode(['--import', 'tsx', path.join(ROOT, 'examples/getting-started', file)], { timeoutMs: 60_000, env });

describe('getting started', () => {
  it('1. a first flow', async () => {
    const { code, stdout, stderr } = await step('1-first-flow.ts');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('result: {"text":"emperor penguins dive deep","words":4}');
  });

  it('2. durable history in SQLite, read back after the flow stopped', async () => {
    const { code, stdout } = await step('2-sqlite-history.ts', { STORE_PATH: path.join(dir, 'gs.db') });
    expect(code).toBe(0);
    expect(stdout).toContain('result: ok: hello');
    expect(stdout).toMatch(/recorded 6 events in .*: node_start, node_error, node_retry, node_start, node_success, trace_complete/);
  });

  it.skipIf(!redis)('3. workers on Redis: two processes share the work, and the controller exits on its own', async () => {
    const { code, stdout } = await step('3-redis-workers.ts', { PENGUIFLOW_BUS: `${redis}?prefix=gs${Date.now().toString(36)}` });
    expect(code).toBe(0);
    expect(stdout).toMatch(/10 images resized by [12] worker process\(es\): 0 2 4 6 8 10 12 14 16 18/);
  });

  it('4. an A2A agent, called with the A2A client', async () => {
    const { code, stdout } = await step('4-a2a-agent.ts');
    expect(code).toBe(0);
    expect(stdout).toContain('answer (completed): "HELLO PENGUINS! (tenant acme)"');
  });

  it('5. the agent as a remote node of a local flow, in another process', async () => {
    const { code, stdout } = await step('5-remote-node.ts');
    expect(code).toBe(0);
    expect(stdout).toMatch(/remote said "REMOTE PENGUINS! \(tenant acme\)" \(task \S+\)/);
    expect(stdout).toMatch(/recorded 1 remote binding\(s\)/);
  });
});
