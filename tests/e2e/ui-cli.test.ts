/**
 * `penguiflow ui` as a process: serves the viewer for a SQLite file written by
 * `penguiflow demo`, answers the JSON API, and exits 0 on SIGTERM.
 * (Until the command is registered in src/cli/commands/index.ts, the test
 * registers it on a commander program of its own, the way bin.ts does.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/index.js';
import { ROOT, runCli } from '../helpers/spawn.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pf-ui-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BIN = `
import { Command } from 'commander';
const { registerUi } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/cli/commands/ui.ts')).href)});
const program = new Command('penguiflow');
registerUi(program);
await program.parseAsync(process.argv.slice(process.argv.indexOf('ui')), { from: 'user' });
`;

describe('penguiflow ui', () => {
  it('serves the page and the API for the demo history, and stops on SIGTERM', async () => {
    const db = path.join(dir, 'state.db');
    const demo = await runCli(['demo', '--store-path', db], { timeoutMs: 90_000 });
    expect(demo.code, demo.stderr).toBe(0);

    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', BIN, '--', 'ui', '--store', `sqlite:${db}`, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 200 && !/http:\/\/\S+/.test(out); i++) await sleep(50);
      const url = /penguiflow ui: (http:\/\/\S+)/.exec(out)?.[1];
      expect(url, out).toBeDefined();
      expect(out).toContain(`store sqlite:${db}`);
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="/app.js" defer></script>');
      const { traces } = (await (await fetch(`${url}/api/traces?tenant=demo`)).json()) as { traces: { traceId: string; status: string }[] };
      expect(traces.length).toBeGreaterThanOrEqual(5);
      expect([...new Set(traces.map((t) => t.status))]).toEqual(expect.arrayContaining(['succeeded', 'failed', 'cancelled']));
      const timeline = (await (await fetch(`${url}/api/traces/${traces[0]!.traceId}/timeline`)).json()) as { lanes: unknown[]; bars: unknown[] };
      expect(timeline.lanes.length).toBeGreaterThan(0);
      expect(timeline.bars.length).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    }
  });
});
