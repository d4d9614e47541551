/**
 * Distributed behaviour across real processes on Redis: cancel reaching a
 * node on another worker, deadline skips on a worker, poison messages in the
 * dead letters (and the dlq CLI), SIGTERM drain, and a worker added mid-run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { isPenguiflowError, message, sleep, type ConsumableBus, type Flow } from '../../src/index.js';
import { serviceUrl } from '../helpers/services.js';
import { ROOT, runCli } from '../helpers/spawn.js';

const redis = await serviceUrl('redis');

describe.skipIf(!redis)('distributed nodes across processes (Redis)', () => {
  const tag = `ops${Date.now().toString(36)}`;
  const busUrl = `${redis}?prefix=${tag}`;
  const children = new Set<ChildProcess>();
  let dir: string;
  let log: string;
  let bus: ConsumableBus;
  let flow: Flow;
  const env = () => ({ OPS_FLOW: tag, OPS_LOG: log });

  function startWorker(extra: string[] = []): { child: ChildProcess; output: () => string; ready: Promise<void> } {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/ops.ts', '--bus', busUrl, '--concurrency', '4', '--lease-ms', '2000', '--max-deliveries', '3', ...extra],
      { cwd: ROOT, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const ready = (async () => {
      for (let i = 0; i < 300 && !out.includes('running'); i++) await sleep(50);
      if (!out.includes('running')) throw new Error(`worker did not start: ${out}`);
    })();
    return { child, output: () => out, ready };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pf-ops-'));
    log = path.join(dir, 'ops.log');
    Object.assign(process.env, env());
    const { default: make } = await import('../fixtures/flows/ops.js');
    flow = make();
    bus = await openMessageBus(busUrl);
    flow.run({ distributed: { bus } });
    await flow.ready();
  });

  afterEach(async () => {
    const exits = [...children].map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(exits);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await flow?.stop({ timeoutMs: 2_000 });
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('cancel of a trace whose node runs on another worker aborts it there within 1 s', async () => {
    const w = startWorker();
    await w.ready;
    const msg = message({ kind: 'slow', ms: 20_000 }, { tenant: 't' });
    const result = flow.call(msg).catch((e: unknown) => e);
    let logText = '';
    for (let i = 0; i < 100 && !logText.includes(`start ${msg.traceId}`); i++) {
      await sleep(50);
      logText = await readFile(log, 'utf8').catch(() => '');
    }
    expect(logText).toContain(`start ${msg.traceId}`);
    const t0 = Date.now();
    expect(await flow.cancel(msg.traceId)).toBe(true);
    expect(isPenguiflowError(await result, 'TRACE_CANCELLED')).toBe(true);
    for (let i = 0; i < 40 && !logText.includes(`aborted ${msg.traceId}`); i++) {
      await sleep(25);
      logText = await readFile(log, 'utf8');
    }
    expect(logText).toContain(`aborted ${msg.traceId} ${w.child.pid}`);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('a message past its deadline is skipped on the worker with DEADLINE_EXCEEDED', async () => {
    const w = startWorker(['--nodes', 'echo', '--id', `${tag}-late`]);
    await w.ready;
    w.child.kill('SIGSTOP'); // the worker is there but takes no work until the deadline has passed
    const result = flow.call(message({ kind: 'echo', text: 'late' }, { tenant: 't', deadlineMs: 300 })).catch((e: unknown) => e);
    await sleep(600);
    w.child.kill('SIGCONT');
    const error = await result;
    expect(isPenguiflowError(error, 'DEADLINE_EXCEEDED')).toBe(true);
  });

  it('a poison message is tried maxDeliveries times, dead-lettered with its error, and the dlq CLI lists and requeues it', async () => {
    const w = startWorker();
    await w.ready;
    const msg = message({ kind: 'poison' }, { tenant: 't' });
    const error = await flow.call(msg, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'NODE_EXCEPTION')).toBe(true);
    expect((error as Error).message).toContain('poison pill');
    const topic = `${tag}.poison`;
    let listed = await runCli(['dlq', 'list', '--topic', topic, '--bus', busUrl, '--json']);
    for (let i = 0; i < 20 && !listed.stdout.includes(msg.traceId); i++) {
      await sleep(100);
      listed = await runCli(['dlq', 'list', '--topic', topic, '--bus', busUrl, '--json']);
    }
    expect(listed.code).toBe(0);
    const letter = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; deliveryCount: number; error: { message: string }; envelope: { traceId: string } }).find((l) => l.envelope?.traceId === msg.traceId)!;
    expect(letter.deliveryCount).toBe(3);
    expect(letter.error.message).toContain('poison pill');
    const retried = await runCli(['dlq', 'retry', letter.id, '--topic', topic, '--bus', busUrl]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`requeued ${letter.id}`);
    const missing = await runCli(['dlq', 'retry', 'no-such-id', '--topic', topic, '--bus', busUrl]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No dead letter');
  });

  it('SIGTERM drains: in-flight work finishes, is answered, and the worker exits 0', async () => {
    const w = startWorker(['--nodes', 'slow']);
    await w.ready;
    const msg = message({ kind: 'slow', ms: 600 }, { tenant: 't' });
    const result = flow.call(msg, { timeoutMs: 20_000 });
    let logText = '';
    for (let i = 0; i < 100 && !logText.includes(`start ${msg.traceId}`); i++) {
      await sleep(50);
      logText = await readFile(log, 'utf8').catch(() => '');
    }
    const exited = new Promise<number | null>((resolve) => w.child.on('exit', (code) => resolve(code)));
    w.child.kill('SIGTERM');
    expect((await result).payload).toBe('slow done');
    expect(await exited).toBe(0);
    expect(w.output()).toContain('drained');
  });

  it('a worker added mid-run takes work at once', async () => {
    const first = startWorker(['--nodes', 'echo']);
    await first.ready;
    const results: string[] = [];
    let stop = false;
    const run = (async () => {
      for (let i = 0; !stop && i < 2_000; i++) {
        const out = await flow.call(message({ kind: 'echo', text: `m${i}` }, { tenant: 't' }));
        results.push(String(out.payload));
        await sleep(5);
      }
    })();
    await sleep(100);
    const second = startWorker(['--nodes', 'echo']);
    await second.ready;
    const joinedAt = results.length;
    // once it is up, the new worker gets a share of the very next messages
    for (let i = 0; i < 200 && results.length < joinedAt + 40; i++) await sleep(25);
    stop = true;
    await run;
    const after = results.slice(joinedAt, joinedAt + 40).map((r) => r.split(' from ')[1]);
    expect(after.length).toBe(40);
    expect(after.filter((pid) => pid === String(second.child.pid)).length).toBeGreaterThan(5);
    expect(results.every((r, i) => r.startsWith(`m${i} from`))).toBe(true);
  });
});
