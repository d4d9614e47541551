/**
 * Runs an example's flow across worker processes: starts `penguiflow worker`
 * processes for the given nodes, runs the controller here, and stops
 * everything afterwards. Bus from PENGUIFLOW_BUS (default local Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import type { ConsumableBus, Flow } from '../../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Cluster {
  flow: Flow;
  bus: ConsumableBus;
  stop(): Promise<void>;
}

/** `workers`: one entry per worker process, listing the nodes it runs (empty = all distributed nodes). */
export async function startCluster(flowFile: string, makeFlow: () => Flow, workers: string[][]): Promise<Cluster> {
  const busUrl = process.env.PENGUIFLOW_BUS ?? `redis://127.0.0.1:6379?prefix=ex${process.pid}`;
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (const nodes of workers) {
    const args = ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'worker', '--flow', flowFile, '--bus', busUrl, '--concurrency', '8'];
    if (nodes.length > 0) args.push('--nodes', nodes.join(','));
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('running')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      }),
    );
  }
  await Promise.all(ready);
  const flow = makeFlow();
  const bus = await openMessageBus(busUrl);
  flow.run({ distributed: { bus } });
  await flow.ready();
  return {
    flow,
    bus,
    async stop() {
      await flow.stop();
      await bus.close();
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

export function exampleFile(metaUrl: string, name: string): string {
  return path.relative(ROOT, path.join(path.dirname(fileURLToPath(metaUrl)), name));
}
