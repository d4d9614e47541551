/**
 * Step 3: the same kind of flow with one node on worker processes, over Redis.
 * Starts two `penguiflow worker` processes, sends ten messages, and shows which
 * process handled each.
 *
 *   npm install ioredis
 *   npx tsx 3-redis-workers.ts            # PENGUIFLOW_BUS=redis://host:6379 for another Redis
 *
 * The controller passes the bus as a URL, so the flow opens it and
 * `flow.stop()` closes it (a bus object you open yourself is yours to close).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { message } from 'penguiflow';
import makeFlow from './3-worker-flow.js';
import { penguiflowCommand } from './cli.js';

const bus = process.env.PENGUIFLOW_BUS ?? `redis://127.0.0.1:6379?prefix=gs${process.pid}`;
const flowFile = path.join(import.meta.dirname, '3-worker-flow.ts');

const workers = [1, 2].map(() => spawn(process.execPath, [...penguiflowCommand(), 'worker', '--flow', flowFile, '--bus', bus], { stdio: ['ignore', 'pipe', 'pipe'] }));
await Promise.all(
  workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        let err = '';
        w.stderr.on('data', (d: Buffer) => (err += d.toString()));
        w.stdout.on('data', (d: Buffer) => d.toString().includes('running') && resolve());
        w.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err.trim()}`)));
      }),
  ),
);

const flow = makeFlow();
flow.run({ distributed: { bus } });
try {
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => flow.call(message(i, { tenant: 'acme' }))));
  const payloads = results.map((r) => r.payload as { size: number; pid: number });
  const pids = new Set(payloads.map((p) => p.pid));
  console.log(`10 images resized by ${pids.size} worker process(es): ${payloads.map((p) => p.size).join(' ')}`);
} finally {
  await flow.stop(); // also closes the bus the flow opened from the URL
  for (const w of workers) w.kill('SIGTERM');
}
