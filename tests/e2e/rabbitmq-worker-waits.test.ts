/**
 * A worker started while RabbitMQ is down waits for it (a line per attempt)
 * instead of exiting, and serves once the broker is up; then it keeps serving
 * across a broker restart. Uses a RabbitMQ node of the test's own.
 */
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createRabbitMessageBus } from '../../src/adapters/rabbitmq/index.js';
import { message, sleep } from '../../src/index.js';
import { canRunRabbit, startOwnRabbit, type OwnRabbit } from '../helpers/own-rabbitmq.js';
import { ROOT } from '../helpers/spawn.js';

const runnable = canRunRabbit();
if (!runnable && process.env.CI === 'true') throw new Error('rabbitmq-server is not installed');

let node: OwnRabbit | undefined;
const cleanup: (() => void)[] = [];
afterAll(async () => {
  for (const c of cleanup) c();
  await node?.destroy();
}, 60_000);

it.skipIf(!runnable)('a worker started while RabbitMQ is down waits, serves once it is up, and keeps serving after a broker restart', async () => {
  node = await startOwnRabbit();
  await node.stop();
  const tag = `rwait${Date.now().toString(36)}`;
  const busUrl = `${node.url}?prefix=${tag}`;
  const flag = path.join(os.tmpdir(), `${tag}.flag`);
  await writeFile(flag, 'fixed');
  cleanup.push(() => void rm(flag, { force: true }));
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/poison.ts', '--bus', busUrl], {
    cwd: ROOT,
    env: { ...process.env, POISON_FLOW: tag, POISON_FLAG: flag, POISON_LOG: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanup.push(() => worker.kill('SIGKILL'));
  let out = '';
  let exited: number | null | undefined;
  worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
  worker.on('exit', (code) => (exited = code));
  for (let i = 0; i < 1200 && !/attempt 2/.test(out); i++) await sleep(25);
  expect(out).toMatch(/bus not reachable .*attempt 1/);
  expect(out).toMatch(/attempt 2/);
  await node.start();
  for (let i = 0; i < 600 && !out.includes('running'); i++) await sleep(50);
  expect(exited).toBeUndefined();
  expect(out).toContain('running');

  process.env.POISON_FLOW = tag;
  const { default: makeFlow } = await import('../fixtures/flows/poison.js');
  const flow = makeFlow();
  const bus = await createRabbitMessageBus({ url: node.url, prefix: tag });
  flow.run({ distributed: { bus } });
  await flow.ready();
  expect((await flow.call(message('abc', { tenant: 't' }), { timeoutMs: 30_000 })).payload).toBe('ABC');

  await node.restart(1_000);
  // both the worker and this controller reconnect on their own
  expect((await flow.call(message('def', { tenant: 't' }), { timeoutMs: 60_000 })).payload).toBe('DEF');
  expect(exited).toBeUndefined();
  await flow.stop();
  await bus.close();
  worker.kill('SIGTERM');
}, 180_000);
