import type { Command } from 'commander';
import { openMessageBus } from '../../adapters/bus-url.js';
import { InvalidOptionsError, NotFoundError } from '../../errors/index.js';
import type { ConsumableBus } from '../../protocols/message-bus.js';
import { action, parseCount, print } from '../store-cli.js';
import { announce, requireUrl } from '../connect-url.js';

interface DlqOptions {
  bus?: string;
  topic: string;
  json?: boolean;
  limit: string;
}

async function withBus<T>(opts: DlqOptions, fn: (bus: ConsumableBus) => Promise<T>): Promise<T> {
  const url = requireUrl('bus', opts.bus, 'redis://127.0.0.1:6379');
  announce('dlq', 'bus', url);
  const bus = await openMessageBus(url);
  try {
    if (bus.listDeadLetters === undefined || bus.retryDeadLetter === undefined) {
      throw new InvalidOptionsError('This bus adapter keeps no dead letters');
    }
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

/** `penguiflow dlq list|retry`: dead letters of a topic (a distributed node's input is `<flow>.<node>`). */
export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead-lettered messages');
  dlq
    .command('list')
    .description('list dead letters of a topic')
    .requiredOption('--topic <topic>', 'topic, e.g. <flow>.<node>')
    .option('--bus <url>', 'bus URL, required unless PENGUIFLOW_BUS is set')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'JSON lines')
    .action(
      action(async (opts: DlqOptions) => {
        await withBus(opts, async (bus) => {
          const letters = await bus.listDeadLetters!(opts.topic, parseCount('limit', opts.limit));
          if (opts.json) {
            for (const l of letters) print(JSON.stringify({ ...l, envelope: l.envelope ? { id: l.envelope.id, traceId: l.envelope.message.traceId, tenant: l.envelope.message.headers.tenant } : null }));
            return;
          }
          if (letters.length === 0) print(`no dead letters on ${opts.topic}`);
          for (const l of letters) {
            const trace = l.envelope?.message.traceId ?? '(undecodable)';
            print(`${l.id}  trace ${trace}  deliveries ${l.deliveryCount}  ${new Date(l.deadAt).toISOString()}  ${l.error.code}: ${l.error.message}`);
          }
        });
      }),
    );
  dlq
    .command('retry <id>')
    .description('put a dead letter back on its topic')
    .requiredOption('--topic <topic>', 'topic, e.g. <flow>.<node>')
    .option('--bus <url>', 'bus URL, required unless PENGUIFLOW_BUS is set')
    .action(
      action(async (id: string, opts: DlqOptions) => {
        await withBus(opts, async (bus) => {
          if (!(await bus.retryDeadLetter!(opts.topic, id))) throw new NotFoundError(`No dead letter ${id} on ${opts.topic}`);
          print(`requeued ${id} on ${opts.topic}`);
        });
      }),
    );
}
