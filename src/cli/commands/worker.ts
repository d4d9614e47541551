import type { Command } from 'commander';
import { openMessageBus } from '../../adapters/bus-url.js';
import { openStateStore } from '../../adapters/store-url.js';
import { runWorker } from '../../distributed/worker.js';
import { opsFromEnv } from '../ops-from-env.js';
import { openWithRetry } from '../open-with-retry.js';
import { loadFlow } from '../load-flow.js';
import { action, parseCount, print } from '../store-cli.js';
import { announce, requireUrl } from '../connect-url.js';

interface WorkerCliOptions {
  flow: string;
  nodes?: string;
  bus?: string;
  store?: string;
  concurrency: string;
  leaseMs: string;
  maxDeliveries: string;
  id?: string;
}

/** One readable line per record on stderr; ids and codes only, never payloads. */
const stderrLogger = {
  info: (fields: Record<string, unknown>, message: string) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`),
  warn: (fields: Record<string, unknown>, message: string) => process.stderr.write(`warn: ${message} ${JSON.stringify(fields)}\n`),
};

/**
 * `penguiflow worker --flow ./flow.ts --bus <url> [--nodes a,b] [--store url] [--concurrency N]`:
 * runs a flow's distributed nodes until SIGTERM/SIGINT, then drains and exits 0.
 * The bus is required (`--bus` or PENGUIFLOW_BUS); the worker prints where it connects to stderr.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description("run a flow's distributed nodes, consuming their edges from the bus")
    .requiredOption('--flow <file>', 'module exporting the flow (default export)')
    .option('--nodes <names>', 'comma-separated distributed nodes to run (default: all)')
    .option('--bus <url>', 'bus URL, required unless PENGUIFLOW_BUS is set: redis://, nats://, amqp://, postgres://, sqlite:<path>')
    .option('--store <url>', 'state store for events, heartbeats and done-markers (env PENGUIFLOW_STORE)')
    .option('--concurrency <n>', 'messages run at once per node', '1')
    .option('--lease-ms <ms>', 'unacked work is redelivered after this long', '30000')
    .option('--max-deliveries <n>', 'deliveries before a failing message is dead-lettered', '5')
    .option('--id <workerId>', 'worker id (default: host-pid-random)')
    .action(
      action(async (opts: WorkerCliOptions) => {
        const busUrl = requireUrl('bus', opts.bus, 'redis://127.0.0.1:6379');
        const storeUrl = opts.store ?? process.env.PENGUIFLOW_STORE;
        announce('worker', 'bus', busUrl);
        if (storeUrl !== undefined) announce('worker', 'store', storeUrl);
        const flow = await loadFlow(opts.flow);
        // SIGTERM while still waiting for the broker ends the wait (exit 0 below)
        const quit = new AbortController();
        const onQuit = () => quit.abort();
        process.once('SIGTERM', onQuit);
        process.once('SIGINT', onQuit);
        let bus: Awaited<ReturnType<typeof openMessageBus>>;
        let store: Awaited<ReturnType<typeof openStateStore>> | undefined;
        try {
          bus = await openWithRetry('bus', () => openMessageBus(busUrl), quit.signal);
          store = storeUrl === undefined ? undefined : await openWithRetry('store', () => openStateStore(storeUrl), quit.signal);
        } catch (error) {
          if (quit.signal.aborted) return void print('worker: stopped before it connected');
          throw error;
        }
        process.off('SIGTERM', onQuit);
        process.off('SIGINT', onQuit);
        const nodes = opts.nodes?.split(',').map((s) => s.trim()).filter(Boolean);
        // PENGUIFLOW_METRICS_PORT serves /metrics, /healthz, /readyz; PENGUIFLOW_TRACING=1 exports spans.
        const obs = await opsFromEnv({ store, bus, topics: (nodes ?? [...flow.distributedNodes]).map((n) => `${flow.name}.${n}`) });
        const worker = await runWorker({
          flow,
          bus,
          store,
          nodes,
          middlewares: obs.middlewares,
          concurrency: parseCount('concurrency', opts.concurrency),
          leaseMs: parseCount('lease-ms', opts.leaseMs),
          maxDeliveries: parseCount('max-deliveries', opts.maxDeliveries),
          workerId: opts.id,
          logger: stderrLogger,
        });
        print(`worker ${worker.id} running ${flow.name}: ${[...(opts.nodes?.split(',') ?? flow.distributedNodes)].join(', ')}`);
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            print(`worker ${worker.id}: ${signal}, draining`);
            resolve();
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
        await worker.stop();
        await obs.close();
        await bus.close();
        await store?.close?.();
        print(`worker ${worker.id}: drained (${worker.stats.processed} processed)`);
      }),
    );
}
