import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-e2e-cli-'));
const db = join(dir, 'state.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('penguiflow demo → history / traces / prune from the SQLite file', () => {
  it('prints trace ids, and `penguiflow history <id>` prints that trace from the file', async () => {
    const demo = await runCli(['demo', '--store-path', db], { timeoutMs: 90_000 });
    expect(demo.code, demo.stderr).toBe(0);
    const traceId = /penguiflow history (\S+)/.exec(demo.stdout)?.[1];
    expect(traceId).toBeDefined();

    const history = await runCli(['history', traceId!, '--store', `sqlite:${db}`]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain(`trace ${traceId}`);
    expect(history.stdout).toMatch(/node_start/);
    expect(history.stdout).toMatch(/trace_complete/);

    const traces = await runCli(['traces', '--store', `sqlite:${db}`, '--limit', '500', '--json']);
    const listed = traces.stdout.trim().split('\n').map((l) => JSON.parse(l) as { traceId: string; status: string });
    expect(listed.map((t) => t.traceId)).toContain(traceId);
    expect(new Set(listed.map((t) => t.status))).toEqual(new Set(['succeeded', 'failed', 'cancelled']));

    const unknown = await runCli(['history', 'no-such-trace', '--store', `sqlite:${db}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(`penguiflow: No events for trace no-such-trace in sqlite:${db}`);

    const prune = await runCli(['prune', '--older-than', '1d', '--store', `sqlite:${db}`]);
    expect(prune.stdout).toMatch(/^pruned 0 events/);
  });

  it('fails in one line, naming host:port and not the password, when Postgres is unreachable', async () => {
    const r = await runCli(['traces', '--store', 'postgres://alice:s3cr3t@127.0.0.1:1/test']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('127.0.0.1:1');
    expect(r.stderr).not.toContain('s3cr3t');
  });
});
