/**
 * Resilience: 1,000 calls over 3 real agent processes (child processes on
 * 127.0.0.1, registered in Redis) where one instance is 10× slower than the
 * other two, through the balanced transport with least loaded, round robin and
 * affinity (50 sessions), with 4 and with 16 calls in flight (closed loop). Reports p50/p99
 * latency and the slow instance's share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const CALLS = Number(process.env.BENCH_RES_CALLS ?? 1_000);
const IN_FLIGHT = (process.env.BENCH_RES_IN_FLIGHT ?? '4,16').split(',').map(Number);
const FAST_MS = Number(process.env.BENCH_RES_FAST_MS ?? 5);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function startAgent(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/fixtures/resilience-agent.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY ')) {
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

export default async function resilienceBench(): Promise<BenchSection> {
  const title = 'Load balancing over 3 agent instances, one 10× slower';
  const { serviceUrlFor } = await import('../../tests/helpers/services.js');
  const { openAgentRegistry } = await import('../../src/registry/index.js');
  const { createA2AClient } = await import('../../src/a2a/index.js');
  const { message } = await import('../../src/index.js');
  const { affinity, createBalancedTransport, leastLoaded, roundRobin } = await import('../../src/resilience/index.js');
  const prefix = `pf-bench-res-${process.pid}`;
  const url = `${serviceUrlFor('redis')}?prefix=${prefix}`;
  let registry;
  try {
    registry = await openAgentRegistry(url);
  } catch {
    return { title, markdown: 'Skipped: Redis is not reachable.' };
  }
  const children: ChildProcess[] = [];
  try {
    for (const [id, delay] of [['fast-1', FAST_MS], ['fast-2', FAST_MS], ['slow', FAST_MS * 10]] as const) {
      children.push(await startAgent({ PF_REGISTRY: url, PF_INSTANCE_ID: id, PF_DELAY_MS: String(delay), PF_HEARTBEAT_MS: '500', PF_CAPACITY: '32' }));
    }
    const client = createA2AClient({ timeoutMs: 10_000 });
    const strategies = [
      ['least loaded', leastLoaded()],
      ['round robin', roundRobin()],
      ['affinity (50 sessions)', affinity({ key: (r) => r.message.meta.session as string })],
    ] as const;
    const rows: (string | number)[][] = [];
    // Warm every process (JIT, connections, cards) before the first measured strategy.
    const warm = createBalancedTransport({ registry, transport: client, strategy: roundRobin(), refreshMs: 100 });
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 60; i++) for await (const _ev of warm.stream({ agentUrl: 'agent://echo', message: message('w', { tenant: 'bench' }), idempotencyKey: `warm:${w}:${i}`, timeoutMs: 10_000 }));
      }),
    );
    await warm.close();
    for (const inFlight of IN_FLIGHT) for (const [name, strategy] of strategies) {
      const seen: string[] = [];
      const balanced = createBalancedTransport({ registry, transport: client, strategy, refreshMs: 100, events: (e) => void (e.type !== 'remote_instance_up' || e.reason !== 'registered' ? seen.push(`${e.type}:${e.instanceId ?? ''}:${e.reason ?? ''}`) : undefined) });
      await balanced.ready();
      const run = async (i: number) => {
        const t = performance.now();
        let served = '';
        for await (const ev of balanced.stream({ agentUrl: 'agent://echo', message: message(`b${i}`, { tenant: 'bench', meta: { session: `s${i % 50}` } }), idempotencyKey: `bench:${process.pid}:${name}:${inFlight}:${i}`, timeoutMs: 10_000 })) {
          if (ev.kind === 'artifact') served = (ev.payload as { instance: string }).instance;
        }
        return { ms: performance.now() - t, served };
      };
      for (let i = 0; i < 60; i++) await run(-1 - i); // warm-up (cards, connections, latency estimates)
      const results: { ms: number; served: string }[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < CALLS) results.push(await run(next++));
        }),
      );
      const wall = performance.now() - t0;
      const lat = results.map((r) => r.ms).sort((a, b) => a - b);
      const slowShare = results.filter((r) => r.served === 'slow').length / results.length;
      rows.push([name, inFlight, fmt(percentile(lat, 50), 1), fmt(percentile(lat, 99), 1), fmt((CALLS / wall) * 1000), `${fmt(slowShare * 100, 1)} %`, seen.length === 0 ? 'none' : [...new Set(seen)].join(', ')]);
      await balanced.close();
    }
    return {
      title,
      markdown: [
        `${fmt(CALLS)} calls (A2A streaming, through \`createBalancedTransport\`), ${IN_FLIGHT.join(' or ')} in flight (closed loop), over 3 agent processes on 127.0.0.1 registered in Redis; two answer in ${FAST_MS} ms, one in ${FAST_MS * 10} ms.`,
        '',
        table(['strategy', 'in flight', 'p50 ms', 'p99 ms', 'calls/s', 'slow instance share', 'health events'], rows),
      ].join('\n'),
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    const { Redis } = await import('ioredis');
    const r = new Redis(serviceUrlFor('redis'));
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    await registry.close?.();
  }
}
