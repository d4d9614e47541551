import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/spawn.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-demo-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('npm start (the demo)', () => {
  it('runs every scenario, prints each trace timeline from SQLite, and exits 0', async () => {
    const storePath = path.join(dir, 'state.db');
    const started = Date.now();
    const { code, stdout, stderr } = await runCli(['demo', '--store-path', storePath], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/fan-out \+ join\s+result \[/);
    expect(stdout).toMatch(/retry after a failure\s+result "recovered/);
    expect(stdout).toMatch(/deadline expires\s+DEADLINE_EXCEEDED/);
    expect(stdout).toMatch(/cancelled midway\s+TRACE_CANCELLED/);
    expect(stdout).toMatch(/streaming\s+\d+ chunks streamed/);
    expect(stdout).toContain('node_retry');
    expect(stdout).toContain('trace_cancel_finish');
    expect(stdout).toContain('stream_chunk');
    expect(stdout).toMatch(/20 images resized in \d+ ms by 2 worker processes/);
    expect(stdout).toMatch(/4 findings streamed, then: REPORT summary: 4 findings about emperor penguins \(for tenant demo\)/);
    expect(stdout).toMatch(/a long call cancelled locally: remote task \S+ is TASK_STATE_CANCELED/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
