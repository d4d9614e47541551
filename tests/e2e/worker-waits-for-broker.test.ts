/**
 * A worker started while its broker is down waits for it (a line per
 * attempt) instead of exiting into a crash loop, and serves once it is up.
 * Uses a Redis server of the test's own.
 */
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createRedisMessageBus } from '../../src/adapters/redis/index.js';
import { message, sleep } from '../../src/index.js';
import { startOwnRedis, type OwnRedis } from '../helpers/own-redis.js';
import { ROOT } from '../helpers/spawn.js';

let redis: OwnRedis | undefined;
const kill: (() => void)[] = [];
afterAll(async () => {
  for (const k of kill) k();
  await redis?.stop();
});

it('a worker started while Redis is down waits, then serves once Redis is up', async () => {
  redis = await startOwnRedis();
  const tag = `wait${Date.now().toString(36)}`;
  const busUrl = `${redis.url}?prefix=${tag}`;
  const flag = path.join(os.tmpdir(), `${tag}.flag`);
  await writeFile(flag, 'fixed');
  kill.push(() => void rm(flag, { force: true }));
  let restarted = false;
  const restarting = redis.restart(10_000).then(() => (restarted = true)); // down for 10 s from now
  await sleep(500);
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/poison.ts', '--bus', busUrl], {
    cwd: ROOT,
    env: { ...process.env, POISON_FLOW: tag, POISON_FLAG: flag, POISON_LOG: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kill.push(() => worker.kill('SIGKILL'));
  let out = '';
  let exited: number | null | undefined;
  worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
  worker.on('exit', (code) => (exited = code));
  for (let i = 0; i < 400 && !restarted && !/attempt 2/.test(out); i++) await sleep(25);
  expect(restarted).toBe(false); // the worker tried twice while Redis was down…
  expect(out).toMatch(/bus not reachable .*attempt 1/);
  await restarting;
  expect(exited).toBeUndefined(); // …and is still alive after the outage
  for (let i = 0; i < 300 && !out.includes('running'); i++) await sleep(50);
  expect(out).toContain('running');

  process.env.POISON_FLOW = tag;
  const { default: makeFlow } = await import('../fixtures/flows/poison.js');
  const flow = makeFlow();
  const bus = await createRedisMessageBus({ url: redis.url, prefix: tag });
  flow.run({ distributed: { bus } });
  await flow.ready();
  const out1 = await flow.call(message('abc', { tenant: 't' }), { timeoutMs: 30_000 });
  expect(out1.payload).toBe('ABC');
  await flow.stop();
  await bus.close();
  worker.kill('SIGTERM');
});
