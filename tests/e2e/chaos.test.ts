/**
 * Chaos: 3 worker processes run 2,000 traces through a 4-node distributed
 * flow while a random worker is SIGKILLed 5 times (and replaced). Every trace
 * must complete, the side effect of the last node must be applied exactly
 * once per trace, and no message may run twice except where a kill cut its
 * first run short (executions are counted per message, with the worker's pid).
 * A second phase runs 50 messages through a node five times slower than the
 * lease on 3 workers: each runs exactly once. Runs on each broker here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { message } from '../../src/index.js';
import { serviceUrl, type ServiceName } from '../helpers/services.js';
import { ROOT } from '../helpers/spawn.js';

const TRACES = 2_000;
const KILLS = 5;
const pgUrl = await serviceUrl('postgres');

function startWorker(env: NodeJS.ProcessEnv, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (process.env.PENGUIFLOW_DEBUG) process.stderr.write(d);
  });
  return child;
}

const cases: { service: ServiceName; sqlite?: boolean; url: (u: string, prefix: string) => string }[] = [
  { service: 'redis', url: (u, prefix) => `${u}?prefix=${prefix}` },
  { service: 'nats', url: (u, prefix) => `${u}?prefix=${prefix}` },
  // The PostgreSQL queue: no broker at all, the queue lives in its own schema.
  { service: 'postgres', url: (u, prefix) => `${u}?schema=${prefix}_queue` },
  { service: 'rabbitmq', url: (u, prefix) => `${u}${u.includes('?') ? '&' : '?'}prefix=${prefix}` },
  // The SQLite queue: a file shared by the processes of one machine.
  { service: 'postgres', sqlite: true, url: (_u, prefix) => `sqlite:${path.join(os.tmpdir(), `${prefix}.queue.db`)}` },
];

for (const c of cases) {
  const brokerUrl = await serviceUrl(c.service);
  const label = c.sqlite ? 'sqlite queue' : c.service;
  describe.skipIf(!brokerUrl || !pgUrl)(`chaos on ${label}`, () => {
    const tag = `chaos${c.sqlite ? 'sqlite' : c.service}${Date.now().toString(36)}`;
    const table = `${tag}_effects`;
    const schema = `${tag}_store`;
    const busUrl = c.url(brokerUrl!, tag);
    const storeUrl = `${pgUrl}?schema=${schema}`;
    const children = new Set<ChildProcess>();
    const admin = new pg.Pool({ connectionString: pgUrl, max: 2 });

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_runs, ${table}_counter, ${table}_long`);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS ${tag}_queue CASCADE`);
      await admin.end();
    });

    it(`runs ${TRACES} traces through 4 distributed nodes while workers are killed ${KILLS} times; nothing lost or applied twice`, async () => {
      await admin.query(`CREATE TABLE ${table} (key text PRIMARY KEY, value int NOT NULL)`);
      await admin.query(`CREATE TABLE ${table}_runs (id bigserial PRIMARY KEY, key text NOT NULL, pid int NOT NULL)`);
      await admin.query(`CREATE TABLE ${table}_counter (applied int NOT NULL)`);
      await admin.query(`INSERT INTO ${table}_counter VALUES (0)`);
      const env = { CHAOS_PG_URL: pgUrl, CHAOS_TABLE: table, CHAOS_FLOW: tag };
      const args = ['--flow', 'tests/fixtures/flows/chaos.ts', '--bus', busUrl, '--store', storeUrl, '--concurrency', '8', '--lease-ms', '1500', '--max-deliveries', '20'];
      const spawnOne = () => {
        const child = startWorker(env, args);
        children.add(child);
        child.on('exit', () => children.delete(child));
        return child;
      };
      const live = [spawnOne(), spawnOne(), spawnOne()];
      const killed: number[] = [];

      process.env.CHAOS_PG_URL = pgUrl;
      process.env.CHAOS_TABLE = table;
      process.env.CHAOS_FLOW = tag;
      const { default: makeFlow } = (await import('../fixtures/flows/chaos.js'));
      const flow = makeFlow();
      const bus = await openMessageBus(busUrl);
      flow.run({ distributed: { bus } });
      await flow.ready();

      let kills = 0;
      const chaos = (async () => {
        await new Promise((r) => setTimeout(r, 800));
        while (kills < KILLS) {
          const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
          killed.push(victim.pid!);
          victim.kill('SIGKILL');
          kills++;
          live.push(spawnOne());
          await new Promise((r) => setTimeout(r, 500));
        }
      })();

      let next = 0;
      let completed = 0;
      const failures: unknown[] = [];
      const lane = async () => {
        while (next < TRACES) {
          const n = next++;
          const msg = message({ n }, { tenant: 'chaos' });
          try {
            const out = await flow.call(msg, { timeoutMs: 90_000 });
            const payload = out.payload as { n: number; steps: string[] };
            if (payload.n !== n * 2 + 1 || payload.steps.join() !== 'parse,enrich,score,apply') failures.push({ n, payload });
            completed++;
          } catch (error) {
            failures.push({ n, error: String(error) });
          }
          // Pace the run so that the kills land while traces are in flight.
          if (n % 50 === 0) await new Promise((r) => setTimeout(r, 40));
        }
      };
      await Promise.all(Array.from({ length: 32 }, lane));
      await chaos;
      await flow.stop();
      await bus.close();

      expect(failures).toEqual([]);
      expect(completed).toBe(TRACES);
      expect(kills).toBe(KILLS);
      const rows = await admin.query(`SELECT count(*)::int AS n FROM ${table}`);
      const counter = await admin.query(`SELECT applied FROM ${table}_counter`);
      const runs = await admin.query(`SELECT count(*)::int AS n FROM ${table}_runs`);
      expect(rows.rows[0].n).toBe(TRACES);
      expect(counter.rows[0].applied).toBe(TRACES);
      // A message runs again only because of a kill: its own run was cut short, or an upstream node's run
      // was, and its re-run published the same (derived-id) child again while the first copy was still
      // running on a live worker — so re-runs, wherever they ran, stay within what the killed workers had
      // in flight (8 slots each, on each of the 4 nodes), and the effect above is still applied exactly once.
      const rerunKeys = await admin.query(`SELECT count(*)::int AS n FROM (SELECT key FROM ${table}_runs GROUP BY key HAVING count(*) > 1) d`);
      expect(runs.rows[0].n - TRACES).toBeLessThanOrEqual(KILLS * 8 * 4);
      expect(rerunKeys.rows[0].n).toBeLessThanOrEqual(KILLS * 8 * 4);
      expect(killed.length).toBe(KILLS);
      for (const child of children) child.kill('SIGTERM');
    });

    it('long-node phase: 50 messages through a node 5× slower than the lease on 3 workers run exactly once each, none dead-lettered', async () => {
      const longTable = `${table}_long`;
      await admin.query(`CREATE TABLE ${longTable} (key text NOT NULL, pid int NOT NULL)`); // no unique key: duplicates show
      const flowName = `${tag}long`;
      const env = { LONG_PG_URL: pgUrl, LONG_TABLE: longTable, LONG_FLOW: flowName, LONG_MS: '5000' };
      const args = ['--flow', 'tests/fixtures/flows/long.ts', '--bus', busUrl, '--store', storeUrl, '--concurrency', '8', '--lease-ms', '1000', '--max-deliveries', '2'];
      for (let i = 0; i < 3; i++) {
        const child = startWorker(env, args);
        children.add(child);
        child.on('exit', () => children.delete(child));
      }
      Object.assign(process.env, env);
      const { default: makeFlow } = await import('../fixtures/flows/long.js');
      const flow = makeFlow();
      const bus = await openMessageBus(busUrl);
      flow.run({ distributed: { bus } });
      await flow.ready();
      const msgs = Array.from({ length: 50 }, (_, n) => message({ n }, { tenant: 'long' }));
      const results = await Promise.all(msgs.map((m) => flow.call(m, { timeoutMs: 120_000 })));
      expect(results.map((r) => (r.payload as { n: number }).n)).toEqual(msgs.map((_, n) => n));
      await new Promise((r) => setTimeout(r, 2_500)); // two more leases: a late duplicate would show now
      const rows = await admin.query(`SELECT key, count(*)::int AS n FROM ${longTable} GROUP BY key`);
      expect(rows.rows.length).toBe(50);
      expect(rows.rows.filter((r: { n: number }) => r.n !== 1)).toEqual([]);
      expect(new Set(rows.rows.map((r: { key: string }) => r.key))).toEqual(new Set(msgs.map((m) => m.id)));
      if (bus.listDeadLetters) expect(await bus.listDeadLetters(`${flowName}.slow`)).toEqual([]);
      await flow.stop();
      await bus.close();
    });
  });
}
