/**
 * Runs an example's flow across worker processes: starts `penguiflow worker`
 * processes for the given nodes, runs the controller here, and stops
 * everything afterwards. Bus from PENGUIFLOW_BUS (default: the local Redis, printed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMessageBus } from 'penguiflow/distributed';
import type { ConsumableBus, Flow } from 'penguiflow';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `penguiflow` as a command: from source in the repository, else the installed package's bin (flow files are .ts, so with tsx). */
function cli(): string[] {
  const source = path.join(ROOT, 'src/cli/bin.ts');
  if (existsSync(source)) return ['--import', 'tsx', source];
  const manifest = createRequire(import.meta.url).resolve('penguiflow/package.json');
  return ['--import', 'tsx', path.join(path.dirname(manifest), 'dist/cli/bin.js')];
}

export interface Cluster {
  flow: Flow;
  bus: ConsumableBus;
  stop(): Promise<void>;
}

/** `workers`: one entry per worker process, listing the nodes it runs (empty = all distributed nodes). */
export async function startCluster(flowFile: string, makeFlow: () => Flow, workers: string[][]): Promise<Cluster> {
  const busUrl = process.env.PENGUIFLOW_BUS ?? `redis://127.0.0.1:6379?prefix=ex${process.pid}`;
  if (process.env.PENGUIFLOW_BUS === undefined) console.log('bus: redis://127.0.0.1:6379 (set PENGUIFLOW_BUS for another)');
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (const nodes of workers) {
    const args = [...cli(), 'worker', '--flow', flowFile, '--bus', busUrl, '--concurrency', '8'];
    if (nodes.length > 0) args.push('--nodes', nodes.join(','));
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = ''; // the worker says where it connects on stderr; shown only if it fails
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    ready.push(
      new Promise((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('running')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${stderr.trim()}`)));
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
