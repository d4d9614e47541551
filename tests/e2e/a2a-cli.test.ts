/**
 * Spawned processes: `penguiflow serve` answers the SDK's client; after the
 * calling process is killed, `penguiflow cancel <traceId>` reads the binding
 * from SQLite and cancels the orphaned remote task; the example runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
import { ROOT, runNode } from '../helpers/spawn.js';
import { startAgent } from '../integration/a2a-fixtures.js';

const CLI = path.join(ROOT, 'tests/e2e/a2a-cli.mts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pf-a2a-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function waitFor(child: ReturnType<typeof spawn>, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${re} in: ${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('A2A CLI and example', () => {
  it('penguiflow serve: the SDK client talks to it; SIGTERM stops it cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', 'examples/a2a-researcher/agent.ts', '--port', '0', '--store', 'memory:'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [, url] = await waitFor(child, /serving researcher at (http:\/\/\S+)/);
      const client = await new ClientFactory().createFromUrl(url!);
      const task = await client.sendMessage({
        tenant: '',
        message: { messageId: `e2e-${Date.now()}`, contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text', value: 'krill' }, metadata: undefined, filename: '', mediaType: '' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
        configuration: undefined,
        metadata: undefined,
      });
      expect('status' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('after the caller is killed, `penguiflow cancel <traceId>` cancels the orphaned remote task from the SQLite binding', async () => {
    const agent = await startAgent();
    const db = path.join(tmp, 'caller.db');
    const caller = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/e2e/a2a-caller-child.mts'), agent.url, db], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [, traceId] = await waitFor(caller, /TRACE=(\S+)/);
      caller.kill('SIGKILL');
      const running = agent.seen.find((m) => m.payload === 'slow:60000')!;
      expect((await agent.store.getTask(running.traceId, { tenant: 'acme' }))?.state).toBe('working');
      const res = await runNode(['--import', 'tsx', CLI, 'cancel', traceId!, '--store', `sqlite:${db}`], { timeoutMs: 60_000 });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`cancelled ${running.traceId} at ${agent.url} (node research)`);
      expect((await agent.store.getTask(running.traceId, { tenant: 'acme' }))?.state).toBe('canceled');
      await expect.poll(() => agent.aborted.includes(running.traceId)).toBe(true);
      const again = await runNode(['--import', 'tsx', CLI, 'cancel', traceId!, '--store', `sqlite:${db}`], { timeoutMs: 60_000 });
      expect(again.stdout).toContain('no running remote tasks');
    } finally {
      caller.kill('SIGKILL');
      await agent.close();
    }
  });

  it('the a2a-researcher example streams, reports and cancels across two processes', async () => {
    const { code, stdout, stderr } = await runNode(['--import', 'tsx', path.join(ROOT, 'examples/a2a-researcher/main.ts')], { timeoutMs: 90_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('streamed: finding 4 about emperor penguins');
    expect(stdout).toMatch(/REPORT summary: 4 findings about emperor penguins \(for tenant acme\)/);
    expect(stdout).toMatch(/cancelled locally; remote task \S+ is TASK_STATE_CANCELED/);
  });
});
