/** Every example runs against the local Redis and prints what its README promises. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { runNode, ROOT } from '../helpers/spawn.js';

const redis = await serviceUrl('redis');
const run = (name: string) =>
  runNode(['--import', 'tsx', path.join(ROOT, 'examples', name, 'main.ts')], {
    timeoutMs: 90_000,
    env: { PENGUIFLOW_BUS: `${redis}?prefix=ex${name.replace(/\W/g, '')}${Date.now().toString(36)}` },
  });

describe.skipIf(!redis)('examples (worker processes on Redis)', () => {
  it('fan-out / fan-in joins answers from three worker processes', async () => {
    const { code, stdout, stderr } = await run('fan-out-fan-in');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('joined 3 answers from 3 worker processes');
  });

  it('pipeline stages run in three different processes', async () => {
    const { code, stdout } = await run('pipeline');
    expect(code).toBe(0);
    expect(stdout).toMatch(/30 docs through 3 stages on 3 processes/);
    expect(stdout).toContain('<penguin|doc|0>');
  });

  it('map-reduce over 1,000 items gives the exact sum on two workers', async () => {
    const { code, stdout } = await run('map-reduce');
    expect(code).toBe(0);
    expect(stdout).toContain('= 333833500 (expected 333833500) over 1000 items on 2 workers');
  });

  it('controller-worker: every task solved, by more than one worker', async () => {
    const { code, stdout } = await run('controller-worker');
    expect(code).toBe(0);
    const m = /(\d+)\/60 tasks solved correctly by (\d+) workers/.exec(stdout);
    expect(m?.[1]).toBe('60');
    expect(Number(m?.[2])).toBeGreaterThan(1);
  });
});
