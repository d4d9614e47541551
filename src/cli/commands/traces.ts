import type { Command } from 'commander';
import type { TraceStatus } from '../../core/events.js';
import { InvalidOptionsError } from '../../errors/index.js';
import { hasTraceListing } from '../../protocols/store-capabilities.js';
import { action, parseCount, parseDuration, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';

interface TracesOptions extends StoreCliOptions {
  status?: string;
  limit: string;
  since?: string;
  json?: boolean;
}

const STATUSES: readonly TraceStatus[] = ['running', 'succeeded', 'failed', 'cancelled'];

/**
 * `penguiflow traces [--store <url>] [--tenant T] [--status S] [--since 1h] [--limit N] [--json]`:
 * recent traces, newest first, with status, event count, duration and nodes.
 */
export function registerTraces(program: Command): void {
  withStoreOptions(program.command('traces').description('list recent traces, newest first'))
    .option('--status <status>', `only traces with this status (${STATUSES.join(', ')})`)
    .option('--since <duration>', 'only traces active within this long (e.g. 1h, 7d)')
    .option('--limit <n>', 'at most N traces', '20')
    .option('--json', 'one JSON summary per line')
    .action(
      action(async (options: TracesOptions) => {
        const status = options.status as TraceStatus | undefined;
        if (status !== undefined && !STATUSES.includes(status)) {
          throw new InvalidOptionsError(`Unknown status ${JSON.stringify(status)}: use ${STATUSES.join(', ')}`);
        }
        const limit = Math.max(1, parseCount('limit', options.limit));
        const since = options.since === undefined ? undefined : Date.now() - parseDuration(options.since);
        await withStore(options, async (store, url) => {
          if (!hasTraceListing(store)) throw new InvalidOptionsError(`The store at ${url} cannot list traces`);
          const { traces } = await store.listTraces({
            tenant: options.tenant ?? null,
            limit,
            ...(status ? { status } : {}),
            ...(since !== undefined ? { since } : {}),
          });
          if (options.json) {
            for (const t of traces) print(JSON.stringify(t));
            return;
          }
          if (traces.length === 0) {
            print(`no traces in ${url}`);
            return;
          }
          const rows = traces.map((t) => [
            t.traceId,
            t.tenant,
            t.status,
            String(t.eventCount),
            new Date(t.firstTs).toISOString().replace('T', ' ').slice(0, 19),
            `${Math.round(t.lastTs - t.firstTs)} ms`,
            t.nodes.join(','),
          ]);
          const header = ['TRACE', 'TENANT', 'STATUS', 'EVENTS', 'STARTED (UTC)', 'DURATION', 'NODES'];
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
          for (const r of [header, ...rows]) print(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
        });
      }),
    );
}

export { registerTraces as register };
