/**
 * A Redis server of the test's own (never the shared one). By default with an
 * append-only file (fsync always), so a restart keeps the streams, as a
 * production Redis would; `persistence: false` runs it like the shared one
 * (`--save "" --appendonly no`): a restart loses every stream and group.
 * `restart()` stops it, waits, and starts it again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface OwnRedis {
  url: string;
  port: number;
  /** Starts the server (again) on its port. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM: with persistence, the AOF is fsynced first). */
  halt(): Promise<void>;
  restart(downMs?: number): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open, nothing is answered meanwhile. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface OwnRedisOptions {
  /** Append-only file with fsync on every write. Default true. */
  persistence?: boolean;
  /** Start the server now. Default true (false: reserve a port; call `start()` later). */
  started?: boolean;
}

export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-redis-'));
  const persistence = options.persistence !== false;
  let child: ChildProcess | undefined;
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push(...(persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port, true, 15_000, 'redis');
  };
  const halt = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGCONT'); // in case it was paused
    c.kill('SIGTERM'); // redis fsyncs the AOF and exits
    await exited;
    await waitForPort(port, false, 15_000, 'redis');
  };
  if (options.started !== false) await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    halt,
    async restart(downMs = 1_000) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
