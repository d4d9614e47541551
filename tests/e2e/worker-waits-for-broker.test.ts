/**
 * A worker started while its broker is down waits for it (a line per
 * attempt) instead of exiting into a crash loop, and serves once it is up.
 * The broker is a Redis server of the test's own, started only after the
 * worker has said twice that it cannot reach it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createRedisMessageBus } from '../../src/adapters/redis/index.js';
import { message, sleep } from '../../src/index.js';
import { freePort } from '../helpers/ports.js';
import { ROOT } from '../helpers/spawn.js';

const children: ChildProcess[] = [];
const files: string[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const file of files) await rm(file, { force: true });
});

it('a worker started while Redis is down waits, then serves once Redis is up', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const tag = `wait${Date.now().toString(36)}`;
  const flag = path.join(os.tmpdir(), `${tag}.flag`);
  await writeFile(flag, 'fixed');
  files.push(flag);
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/poison.ts', '--bus', `${url}?prefix=${tag}`], {
    cwd: ROOT,
    env: { ...process.env, POISON_FLOW: tag, POISON_FLAG: flag, POISON_LOG: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(worker);
  let out = '';
  let exited: number | null | undefined;
  worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
  worker.on('exit', (code) => (exited = code));
  // the CLI (opening the bus) or the worker (subscribing) says so, once per attempt
  const second = /attempt 2|"attempt":2/;
  for (let i = 0; i < 1_200 && !second.test(out) && exited === undefined; i++) await sleep(50);
  expect(out).toMatch(/bus not reachable/);
  expect(out).toMatch(second);
  expect(exited).toBeUndefined(); // waiting, not crashed

  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 600 && !out.includes('running'); i++) await sleep(50);
  expect(out).toContain('running');
  expect(exited).toBeUndefined();

  process.env.POISON_FLOW = tag;
  const { default: makeFlow } = await import('../fixtures/flows/poison.js');
  const flow = makeFlow();
  const bus = await createRedisMessageBus({ url, prefix: tag });
  flow.run({ distributed: { bus } });
  await flow.ready();
  expect((await flow.call(message('abc', { tenant: 't' }), { timeoutMs: 30_000 })).payload).toBe('ABC');
  await flow.stop();
  await bus.close();
  worker.kill('SIGTERM');
});
