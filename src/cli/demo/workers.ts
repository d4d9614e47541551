import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMessageBus } from '../../adapters/bus-url.js';
import { message } from '../../index.js';
import makeFlow from './worker-flow.js';
import type { StateStore } from '../../protocols/state-store.js';

/** Starts `penguiflow worker` the way this process was started (node + bin, with tsx when running from source). */
function startWorker(args: string[]): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('running')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output.trim()}`)));
  });
  return { child, ready };
}

/**
 * Two worker processes share a SQLite queue (no broker) and the SQLite
 * history; the demo sends them 20 images and shows who did what.
 */
export async function runWorkersDemo(dir: string, storePath: string, store: StateStore, print: (line: string) => void): Promise<void> {
  const queuePath = path.join(dir, 'queue.db');
  await rm(queuePath, { force: true });
  const here = fileURLToPath(import.meta.url);
  const flowFile = path.join(path.dirname(here), `worker-flow${path.extname(here)}`);
  const args = ['--flow', flowFile, '--bus', `sqlite:${queuePath}`, '--store', `sqlite:${storePath}`, '--concurrency', '2', '--lease-ms', '5000'];
  const workers = [startWorker([...args, '--id', 'worker-a']), startWorker([...args, '--id', 'worker-b'])];
  try {
    await Promise.all(workers.map((w) => w.ready));
    const bus = await openMessageBus(`sqlite:${queuePath}`);
    const flow = makeFlow(store);
    flow.run({ distributed: { bus } });
    await flow.ready();
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, image) => flow.call(message({ image }, { tenant: 'demo' }), { timeoutMs: 30_000 })),
    );
    const byPid = new Map<number, number>();
    for (const r of results) {
      const pid = (r.payload as { worker: number }).worker;
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    }
    await flow.stop();
    await bus.close();
    print(`  20 images resized in ${Date.now() - t0} ms by ${byPid.size} worker processes:`);
    for (const [pid, n] of byPid) print(`    pid ${pid}: ${n} images`);
  } finally {
    await Promise.all(
      workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
