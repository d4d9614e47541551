/**
 * A NATS server (JetStream, file storage in a temp dir) of the test's own,
 * never the shared one on 4222, so fault tests can stop and restart it.
 * `restart()` stops it (SIGTERM: a clean shutdown, its store kept), waits,
 * and starts it again on the same port and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

const BINARY = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));

/** Whether a nats-server binary is installed (the fault tests skip loudly without one). */
export const natsServerBinary: string | undefined = BINARY;

export interface OwnNats {
  url: string;
  /** Stops the server, waits `downMs`, starts it again with the same store. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server (the store is kept for `start`). */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and deletes the store. */
  stop(): Promise<void>;
}

export async function startOwnNats(): Promise<OwnNats> {
  if (!BINARY) throw new Error('nats-server is not installed');
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child !== undefined && child.exitCode === null) return; // running already
    child = spawn(BINARY, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    await waitForPort(port, true, 15_000, 'nats-server');
    await new Promise((r) => setTimeout(r, 200)); // JetStream comes up just after the port
  };
  const halt = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
    await waitForPort(port, false, 15_000, 'nats-server');
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    async restart(downMs = 1_000) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    halt,
    start,
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
