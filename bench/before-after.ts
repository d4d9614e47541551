/**
 * Two builds of penguiflow side by side on the same Redis, in one run:
 * end-to-end distributed jobs at worker concurrency 1 and 50, alternating
 * A B A B … so machine drift hits both. Used to check that a change costs
 * the fast path nothing (lease renewal, fencing, done-markers on every
 * delivery).
 *
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
 *   npm run build && BENCH_BASELINE=/tmp/base npx tsx bench/before-after.ts
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { serviceUrl } from '../tests/helpers/services.js';
import { penguiflowJobs, type JobsResult, type Penguiflow } from './redis-jobs.js';
import { fmt, table } from './suite.js';

const baseline = process.env.BENCH_BASELINE;
if (!baseline) throw new Error('Set BENCH_BASELINE to a checkout with a built dist/');
const N = Number(process.env.BENCH_DIST_N ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function load(root: string): Promise<Penguiflow> {
  const at = (p: string) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const [redis, distributed, core] = await Promise.all([at('adapters/redis/index.js'), at('distributed/index.js'), at('index.js')]);
  return { createRedisMessageBus: redis.createRedisMessageBus, runWorker: distributed.runWorker, createFlow: core.createFlow, message: core.message, node: core.node };
}

const url = await serviceUrl('redis');
if (!url) throw new Error('Redis is not reachable');
const builds = { before: await load(path.resolve(baseline)), after: await load(path.resolve(import.meta.dirname, '..')) };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: (string | number)[][] = [];
for (const concurrency of [1, 50]) {
  const runs: Record<'before' | 'after', JobsResult[]> = { before: [], after: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of ['before', 'after'] as const) runs[which].push(await penguiflowJobs(builds[which], url, concurrency, N, 512));
  }
  const rate = (which: 'before' | 'after') => median(runs[which].map((r) => r.rate));
  for (const which of ['before', 'after'] as const) {
    rows.push([which, concurrency, fmt(rate(which)), fmt(median(runs[which].map((r) => r.p50)), 1), fmt(median(runs[which].map((r) => r.p99)), 1), fmt(median(runs[which].map((r) => r.cmds)), 2)]);
  }
  rows.push(['after / before', concurrency, `${fmt(rate('after') / rate('before'), 2)}×`, '', '', '']);
}
console.log(`${N} jobs per run, 512 in flight, median of ${ROUNDS} alternating runs\n`);
console.log(table(['build', 'worker concurrency', 'jobs/s', 'p50 ms', 'p99 ms', 'Redis cmds/job'], rows));
