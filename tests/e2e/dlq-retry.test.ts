/**
 * The dead-letter round trip a user does from the CLI, on every bus: a poison
 * message is dead-lettered once (and stays one), the node is fixed, and
 * `penguiflow dlq retry <id>` runs it to completion; `retry --all` and
 * `purge` act on the whole topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { isPenguiflowError, message, sleep } from '../../src/index.js';
import { serviceUrl, type ServiceName } from '../helpers/services.js';
import { ROOT, runCli } from '../helpers/spawn.js';

const cases: { name: string; service: ServiceName; url: (u: string, tag: string, dir: string) => string }[] = [
  { name: 'Redis', service: 'redis', url: (u, tag) => `${u}?prefix=${tag}` },
  { name: 'NATS', service: 'nats', url: (u, tag) => `${u}?prefix=${tag}` },
  { name: 'RabbitMQ', service: 'rabbitmq', url: (u, tag) => `${u}${u.includes('?') ? '&' : '?'}prefix=${tag}` },
  { name: 'PostgreSQL queue', service: 'postgres', url: (u, tag) => `${u}?schema=${tag}` },
  { name: 'SQLite queue', service: 'postgres', url: (_u, tag, dir) => `sqlite:${path.join(dir, `${tag}.db`)}` },
];

interface Letter {
  id: string;
  deliveryCount: number;
  error: { code: string; message: string };
  envelope: { id: string; traceId: string } | null;
}

for (const c of cases) {
  const base = await serviceUrl(c.service);
  describe.skipIf(!base)(`dlq retry from the CLI on ${c.name}`, () => {
    const tag = `dlq${c.service}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const children = new Set<ChildProcess>();
    let dir = '';
    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('a poison message dead-letters once; once fixed, dlq retry runs it to completion and the list empties; retry --all and purge', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pf-dlq-'));
      const busUrl = c.url(base!, tag, dir);
      const flagFile = path.join(dir, 'flag');
      const logFile = path.join(dir, 'done.log');
      await writeFile(flagFile, 'poison');
      const env = { POISON_FLAG: flagFile, POISON_LOG: logFile, POISON_FLOW: tag };
      const worker = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', 'tests/fixtures/flows/poison.ts', '--bus', busUrl, '--max-deliveries', '2', '--lease-ms', '2000'],
        { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.add(worker);
      let out = '';
      worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
      worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 400 && !out.includes('running'); i++) await sleep(50);
      expect(out).toContain('running');

      Object.assign(process.env, env);
      const { default: makeFlow } = await import('../fixtures/flows/poison.js');
      const flow = makeFlow();
      const bus = await openMessageBus(busUrl);
      flow.run({ distributed: { bus } });
      await flow.ready();
      const topic = `${tag}.parse`;
      const dlq = async (...args: string[]) => {
        const r = await runCli(['dlq', ...args, '--topic', topic, '--bus', busUrl], { timeoutMs: 30_000 });
        return r;
      };
      const list = async (): Promise<Letter[]> => {
        const r = await dlq('list', '--json');
        expect(r.code).toBe(0);
        return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Letter);
      };

      const msg = message('abc', { tenant: 'acme' });
      const error = await flow.call(msg, { timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(isPenguiflowError(error)).toBe(true);
      expect((error as Error).message).toContain('cannot parse abc');
      let letters: Letter[] = [];
      for (let i = 0; i < 50 && letters.length === 0; i++, await sleep(100)) letters = await list();
      expect(letters.length).toBe(1);
      await sleep(3_000); // longer than the lease: a message that came back would be dead-lettered again
      letters = await list();
      expect(letters.length).toBe(1);
      expect(letters[0]!.envelope?.id).toBe(msg.id);
      expect(letters[0]!.deliveryCount).toBe(2);

      await writeFile(flagFile, 'fixed');
      const retried = await dlq('retry', letters[0]!.id);
      expect(retried.code).toBe(0);
      const done = async () => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      for (let i = 0; i < 100 && !(await done()).includes(msg.id); i++) await sleep(100);
      expect(await done()).toEqual([msg.id]);
      expect(await list()).toEqual([]);

      // a batch: two more poison messages, retried all at once, then dead again and purged
      await writeFile(flagFile, 'poison');
      const two = [message('x', { tenant: 'acme' }), message('y', { tenant: 'acme' })];
      await Promise.all(two.map((m) => flow.call(m, { timeoutMs: 30_000 }).catch(() => undefined)));
      for (let i = 0; i < 50 && letters.length !== 2; i++, await sleep(100)) letters = await list();
      expect(letters.length).toBe(2);
      const all = await dlq('retry', '--all');
      expect(all.code).toBe(0);
      expect(all.stdout).toContain('requeued 2 dead letters');
      letters = [];
      for (let i = 0; i < 100 && letters.length !== 2; i++, await sleep(100)) letters = await list();
      expect(letters.length).toBe(2);
      const purged = await dlq('purge');
      expect(purged.code).toBe(0);
      expect(purged.stdout).toContain('purged 2 dead letters');
      expect(await list()).toEqual([]);
      expect(await done()).toEqual([msg.id]);

      await flow.stop();
      await bus.close();
      worker.kill('SIGTERM');
    });
  });
}
