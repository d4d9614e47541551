/**
 * A RabbitMQ node of the test's own (never the shared one on 5672): its own
 * node name, AMQP and distribution ports, data and log directories, so a test
 * may stop and restart it. Durable queues survive `restart()`, as on a
 * production broker. `consumerTimeoutMs` sets the node's `consumer_timeout`
 * and a 500 ms channel tick, so the timeout is checked often enough to test.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface OwnRabbit {
  url: string;
  port: number;
  /** Stops the node (gracefully), waits `downMs`, starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Removes the node's data. */
  destroy(): Promise<void>;
}

/** True when `rabbitmq-server` can be run here. */
export function canRunRabbit(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v rabbitmq-server && test -x /usr/lib/rabbitmq/bin/rabbitmq-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startOwnRabbit(options: { consumerTimeoutMs?: number } = {}): Promise<OwnRabbit> {
  const port = await freePort();
  let dist = await freePort();
  while (dist === port) dist = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-rabbit-'));
  const name = `pft${port}@localhost`;
  const conf = [`listeners.tcp.default = 127.0.0.1:${port}`, 'loopback_users = none'];
  if (options.consumerTimeoutMs !== undefined) conf.push(`consumer_timeout = ${options.consumerTimeoutMs}`);
  await writeFile(path.join(dir, 'rabbitmq.conf'), conf.join('\n') + '\n');
  await writeFile(path.join(dir, 'advanced.config'), options.consumerTimeoutMs !== undefined ? '[{rabbit, [{channel_tick_interval, 500}]}].\n' : '[].\n');
  await writeFile(path.join(dir, 'enabled_plugins'), '[].\n');
  // as root, run the node as the rabbitmq user (as the packaged wrapper does)
  let ids: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
    ids = { uid, gid };
    for (const f of ['', 'rabbitmq.conf', 'advanced.config', 'enabled_plugins']) await chown(path.join(dir, f), uid, gid);
  }
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_MNESIA_DIR: path.join(dir, 'mnesia', 'node'),
    RABBITMQ_FEATURE_FLAGS_FILE: path.join(dir, 'feature_flags'),
    RABBITMQ_PLUGINS_EXPAND_DIR: path.join(dir, 'plugins-expand'),
    RABBITMQ_QUORUM_DIR: path.join(dir, 'quorum'),
    RABBITMQ_STREAM_DIR: path.join(dir, 'stream'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
  };
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { cwd: dir, env, stdio: 'ignore', ...(ids ?? {}) });
    child.on('error', () => undefined);
    await waitForPort(port, true, 90_000, 'RabbitMQ');
  };
  const halt = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM'); // the script stops the node gracefully and waits for it
    await exited;
    await waitForPort(port, false, 30_000, 'RabbitMQ');
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    start,
    stop: halt,
    async restart(downMs = 1_000) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async destroy() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
