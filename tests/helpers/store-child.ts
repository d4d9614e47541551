/** Spawns tests/fixtures/store-writer.ts in a child process and follows its output lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('../fixtures/store-writer.ts', import.meta.url));

export interface Writer {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr: () => string;
  /** Resolves when a line matches (checks past lines too). */
  waitFor(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWriter(config: Record<string, unknown>): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    waitFor(test, timeoutMs = 60_000) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never printed the expected line; stderr:\n${err}`)), timeoutMs);
        const waiter = { test, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
        waiters.push(waiter);
        void exited.then(() => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`child exited before the expected line; stderr:\n${err}`));
        });
      });
    },
  };
}

/** Waits for a clean exit and fails with the child's stderr otherwise. */
export async function finished(writer: Writer): Promise<void> {
  const { code, signal } = await writer.exited;
  if (code !== 0) throw new Error(`writer exited with ${code ?? signal}:\n${writer.stderr()}`);
}
