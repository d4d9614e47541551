/**
 * Redis restarted mid-run: the controller and two worker processes reconnect
 * and every trace completes. Uses a Redis server the test starts itself
 * (append-only file on), never the shared one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { message, sleep } from '../../src/index.js';
import { startOwnRedis } from '../helpers/own-redis.js';
import { ROOT } from '../helpers/spawn.js';

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('redis-server is required under CI=true');
    console.warn('\n!!! redis-server is not installed: the Redis restart test is SKIPPED.\n');
    return false;
  }
})();

describe.skipIf(!hasRedisServer)('Redis restart mid-run', () => {
  const children = new Set<ChildProcess>();
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('workers and the controller reconnect; every trace completes, none twice', async () => {
    const redis = await startOwnRedis();
    try {
      const tag = `rr${Date.now().toString(36)}`;
      const env = { OPS_FLOW: tag };
      for (let i = 0; i < 2; i++) {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/ops.ts', '--bus', redis.url, '--nodes', 'echo', '--concurrency', '4', '--lease-ms', '3000'],
          { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' },
        );
        children.add(child);
      }
      process.env.OPS_FLOW = tag;
      const { default: make } = await import('../fixtures/flows/ops.js');
      const flow = make();
      const bus = await openMessageBus(redis.url);
      flow.run({ distributed: { bus } });
      await flow.ready();

      const total = 300;
      const results = new Map<number, string>();
      const failures: string[] = [];
      const sender = (async () => {
        const pending: Promise<void>[] = [];
        for (let i = 0; i < total; i++) {
          pending.push(
            flow
              .call(message({ kind: 'echo', text: `m${i}` }, { tenant: 't' }), { timeoutMs: 60_000 })
              .then((out) => void results.set(i, String(out.payload)))
              .catch((e: unknown) => void failures.push(`${i}: ${String(e)}`)),
          );
          await sleep(10);
        }
        await Promise.all(pending);
      })();
      await sleep(1_000);
      await redis.restart(1_000);
      await sender;
      await flow.stop({ timeoutMs: 5_000 });
      await bus.close();
      expect(failures).toEqual([]);
      expect(results.size).toBe(total);
      for (const [i, text] of results) expect(text.startsWith(`m${i} from`)).toBe(true);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await redis.stop();
    }
  });
});
