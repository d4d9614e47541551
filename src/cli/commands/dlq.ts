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

/** `penguiflow dlq list|retry|purge`: dead letters of a topic (a distributed node's input is `<flow>.<node>`). */
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
    .command('retry [id]')
    .description('hand a dead letter (or --all of the topic) back to its group; it runs again with a fresh delivery count')
    .requiredOption('--topic <topic>', 'topic, e.g. <flow>.<node>')
    .option('--all', 'every dead letter of the topic')
    .option('--bus <url>', 'bus URL (env PENGUIFLOW_BUS)')
    .action(
      action(async (id: string | undefined, opts: DlqOptions & { all?: boolean }) => {
        if ((id === undefined) === (opts.all !== true)) throw new InvalidOptionsError('Give one dead-letter id, or --all');
        await withBus(opts, async (bus) => {
          if (id !== undefined) {
            if (!(await bus.retryDeadLetter!(opts.topic, id))) throw new NotFoundError(`No dead letter ${id} on ${opts.topic}`);
            print(`requeued ${id} on ${opts.topic}`);
            return;
          }
          let requeued = 0;
          // page through: each retried letter leaves the list
          for (let page = await bus.listDeadLetters!(opts.topic, 500); page.length > 0; page = await bus.listDeadLetters!(opts.topic, 500)) {
            let progressed = false;
            for (const letter of page) {
              if (await bus.retryDeadLetter!(opts.topic, letter.id)) {
                requeued++;
                progressed = true;
              }
            }
            if (!progressed) break; // letters whose group is gone stay listed
          }
          print(`requeued ${requeued} dead letter${requeued === 1 ? '' : 's'} on ${opts.topic}`);
        });
      }),
    );
  dlq
    .command('purge [ids...]')
    .description('delete dead letters of a topic (all, or the given ids)')
    .requiredOption('--topic <topic>', 'topic, e.g. <flow>.<node>')
    .option('--bus <url>', 'bus URL, required unless PENGUIFLOW_BUS is set')
    .action(
      action(async (ids: string[], opts: DlqOptions) => {
        await withBus(opts, async (bus) => {
          if (bus.purgeDeadLetters === undefined) throw new InvalidOptionsError('This bus adapter cannot purge dead letters');
          const deleted = await bus.purgeDeadLetters(opts.topic, ids.length > 0 ? ids : undefined);
          print(`purged ${deleted} dead letter${deleted === 1 ? '' : 's'} on ${opts.topic}`);
        });
      }),
    );
}
