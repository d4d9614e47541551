import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStateStore, parseSqliteUrl, redactStoreUrl } from '../../src/adapters/store-url.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { SqliteStateStore, createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { registerHistory } from '../../src/cli/commands/history.js';
import { registerPrune } from '../../src/cli/commands/prune.js';
import { registerReplay } from '../../src/cli/commands/replay.js';
import { registerTraces } from '../../src/cli/commands/traces.js';
import { parseDuration } from '../../src/cli/store-cli.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { makeEvent } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-cli-'));
const dbPath = join(dir, 'state.db');
const url = `sqlite:${dbPath}`;
const now = Date.now();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const store = createSqliteStateStore({ path: dbPath });
  const ev = (traceId: string, tenant: string, dt: number, init: Parameters<typeof makeEvent>[0] extends infer P ? Partial<P> : never) =>
    makeEvent({ traceId, tenant, ts: now + dt, ...init });
  await store.saveEvents([
    ev('tr-ok', 'acme', 0, { type: 'node_start', node: 'fetch' }),
    ev('tr-ok', 'acme', 12, { type: 'node_success', node: 'fetch', latencyMs: 12, extra: { secretPayload: 'DO-NOT-PRINT' } }),
    ev('tr-ok', 'acme', 40, { type: 'trace_complete', node: undefined, extra: { status: 'succeeded' } }),
    ev('tr-bad', 'globex', 5, { type: 'node_retry', node: 'llm', attempt: 1, error: { name: 'NodeTimeoutError', code: 'NODE_TIMEOUT', message: 'slow', retryable: true } }),
    ev('tr-bad', 'globex', 9, { type: 'node_failed', node: 'llm', attempt: 2 }),
    makeEvent({ traceId: 'tr-old', tenant: 'acme', ts: now - 10 * 86_400_000 }),
  ]);
  await store.close();
});

let out = '';
let err = '';
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  const program = new Command().exitOverride();
  for (const register of [registerHistory, registerTraces, registerReplay, registerPrune]) register(program);
  process.exitCode = undefined;
  await program.parseAsync(args, { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  vi.restoreAllMocks();
  return { out, err, code };
}

describe('penguiflow history', () => {
  it('prints the timeline with offsets, types, nodes, latency and error codes, but no payloads', async () => {
    const r = await run('history', 'tr-ok', '--store', url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/trace tr-ok\s+tenant acme/);
    expect(r.out).toMatch(/\+\s+12 ms node_success\s+fetch\s+12\.0 ms/);
    expect(r.out).toContain('trace_complete');
    expect(r.out).not.toContain('DO-NOT-PRINT');
    const bad = await run('history', 'tr-bad', '--store', url);
    expect(bad.out).toMatch(/node_retry\s+llm\s+attempt 1, NODE_TIMEOUT/);
  });

  it('shows the last N events with --tail, and JSON lines with --json', async () => {
    const tail = await run('history', 'tr-ok', '--store', url, '--tail', '1');
    expect(tail.out).toContain('last 1 of 3 events');
    expect(tail.out).not.toContain('node_start');
    const json = await run('history', 'tr-ok', '--store', url, '--json');
    const lines = json.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
    expect(lines.map((l) => l.type)).toEqual(['node_start', 'node_success', 'trace_complete']);
  });

  it('fails with one line naming an unknown trace, and scopes by --tenant', async () => {
    const r = await run('history', 'nope', '--store', url);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`penguiflow: No events for trace nope in ${url}\n`);
    const other = await run('history', 'tr-ok', '--store', url, '--tenant', 'globex');
    expect(other.code).toBe(1);
    expect(other.err).toContain('for tenant globex');
  });

  it('does not create a store when the SQLite file is missing', async () => {
    const missing = join(dir, 'missing', 'state.db');
    const r = await run('history', 'tr-ok', '--store', `sqlite:${missing}`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^penguiflow: No store at .*missing/);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('penguiflow traces, replay, prune', () => {
  it('lists traces newest first with status and filters by tenant and status', async () => {
    const all = await run('traces', '--store', url);
    expect(all.out.split('\n')[0]).toMatch(/^TRACE\s+TENANT\s+STATUS\s+EVENTS/);
    expect(all.out).toMatch(/tr-ok\s+acme\s+succeeded\s+3/);
    expect(all.out).toMatch(/tr-bad\s+globex\s+failed\s+2/);
    const failed = await run('traces', '--store', url, '--status', 'failed', '--json');
    expect(failed.out.trim().split('\n').map((l) => (JSON.parse(l) as { traceId: string }).traceId)).toEqual(['tr-bad']);
    const acme = await run('traces', '--store', url, '--tenant', 'acme', '--since', '1d');
    expect(acme.out).toContain('tr-ok');
    expect(acme.out).not.toContain('tr-bad');
    expect(acme.out).not.toContain('tr-old');
    const wrong = await run('traces', '--store', url, '--status', 'weird');
    expect([wrong.code, wrong.err]).toEqual([1, 'penguiflow: Unknown status "weird": use running, succeeded, failed, cancelled\n']);
  });

  it('replays with the original spacing divided by --speed', async () => {
    const started = Date.now();
    const r = await run('replay', 'tr-ok', '--store', url, '--speed', '2');
    const elapsed = Date.now() - started;
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(4);
    expect(elapsed).toBeGreaterThanOrEqual(15); // 40 ms of trace at 2x
    const bad = await run('replay', 'tr-ok', '--store', url, '--speed', '0');
    expect(bad.code).toBe(1);
  });

  it('prunes traces older than the given age', async () => {
    const bad = await run('prune', '--older-than', 'soon', '--store', url);
    expect([bad.code, bad.err]).toEqual([1, 'penguiflow: Invalid duration "soon": use e.g. 30s, 15m, 12h, 7d\n']);
    const r = await run('prune', '--older-than', '7d', '--store', url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pruned 1 events/);
    const gone = await run('history', 'tr-old', '--store', url);
    expect(gone.code).toBe(1);
  });
});

describe('openStateStore', () => {
  it('opens memory: and sqlite: URLs, creating the SQLite folder', async () => {
    expect(await openStateStore('memory:')).toBeInstanceOf(InMemoryStateStore);
    const path = join(dir, 'nested', 'deeper', 'x.db');
    const store = await openStateStore(`sqlite:${path}?durability=sync&writer=worker`);
    expect(store).toBeInstanceOf(SqliteStateStore);
    expect((store as SqliteStateStore).durability).toBe('sync');
    await store.saveEvent(makeEvent({ traceId: 'w', tenant: 't', ts: 1 }));
    expect(await store.loadHistory('w', { tenant: 't' })).toHaveLength(1);
    expect(existsSync(path)).toBe(true);
    await store.close?.();
  });

  it('parses sqlite URL forms and defaults to ./.penguiflow/state.db', () => {
    expect(parseSqliteUrl('sqlite:').path).toBe('./.penguiflow/state.db');
    expect(parseSqliteUrl('sqlite:./a.db').path).toBe('./a.db');
    expect(parseSqliteUrl('sqlite:///abs/a.db').path).toBe('/abs/a.db');
    expect(parseSqliteUrl('sqlite:/abs/a%20b.db?durability=sync').path).toBe('/abs/a b.db');
  });

  it('rejects an unknown scheme without echoing a password', async () => {
    const error = await openStateStore('mysql://root:hunter2@db/x').catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).not.toContain('hunter2');
    expect(redactStoreUrl('postgres://u:p%40ss@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });

  it('parses durations', () => {
    expect([parseDuration('7d'), parseDuration('12h'), parseDuration('30m'), parseDuration('500ms')]).toEqual([604_800_000, 43_200_000, 1_800_000, 500]);
  });
});
