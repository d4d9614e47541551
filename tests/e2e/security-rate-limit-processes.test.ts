/**
 * One tenant budget shared by two server processes through Redis: 300
 * requests spread over both processes, a budget of 100 per window → about
 * 100 accepted in total (±10%), not 100 per process; the rest are 429 with
 * Retry-After; the other tenant is untouched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/security/index.js';
import { serviceUrl } from '../helpers/services.js';
import { ROOT } from '../helpers/spawn.js';

const redisUrl = await serviceUrl('redis');
const key = generateApiKey();
const children: ChildProcess[] = [];

function startServer(prefix: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/e2e/security-limited-server.mts')], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, KEY_HASH: hashApiKey(key), RL_PREFIX: prefix, RL_POINTS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

describe.skipIf(!redisUrl)('rate limit shared across two server processes (Redis)', () => {
  let urls: string[] = [];
  beforeAll(async () => {
    const prefix = `pf-rl-test-${randomUUID()}`;
    urls = await Promise.all([startServer(prefix), startServer(prefix)]);
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('holds the tenant budget in total within ±10%, with Retry-After on refusals; the other tenant passes', async () => {
    const headers = { 'A2A-Version': '1.0', 'X-API-Key': key };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let batch = 0; batch < 30; batch++) {
      const rs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => fetch(`${urls[(batch * 10 + i) % 2]}/a2a/rest/acme/tasks`, { headers })),
      );
      for (const r of rs) {
        statuses.push(r.status);
        if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
        await r.arrayBuffer();
      }
    }
    const accepted = statuses.filter((s) => s === 200).length;
    console.info(`two processes, one budget of 100: ${accepted} of ${statuses.length} accepted`);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(accepted).toBeGreaterThanOrEqual(90);
    expect(accepted).toBeLessThanOrEqual(110);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await Promise.all(urls.map((u) => fetch(`${u}/a2a/rest/globex/tasks`, { headers })));
    expect(other.map((r) => r.status)).toEqual([200, 200]);
  });
});
