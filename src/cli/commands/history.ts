import type { Command } from 'commander';
import { NotFoundError } from '../../errors/index.js';
import type { StateStore, StoredEvent } from '../../protocols/state-store.js';
import { formatTimeline } from '../timeline.js';
import { action, parseCount, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';

interface HistoryOptions extends StoreCliOptions {
  tail?: string;
  json?: boolean;
}

/** Loads a trace's events, failing with a clear message when there are none. */
export async function loadTrace(store: StateStore, traceId: string, options: StoreCliOptions, url: string): Promise<StoredEvent[]> {
  const events = await store.loadHistory(traceId, { tenant: options.tenant ?? null });
  if (events.length === 0) {
    const scope = options.tenant === undefined ? '' : ` for tenant ${options.tenant}`;
    throw new NotFoundError(`No events for trace ${traceId}${scope} in ${url}`);
  }
  return events;
}

/**
 * `penguiflow history <traceId> [--store <url>] [--tenant T] [--tail N] [--json]`:
 * a trace's events as a timeline (offset, type, node, attempt, latency, error code), never payloads.
 */
export function registerHistory(program: Command): void {
  withStoreOptions(program.command('history <traceId>').description("print a trace's recorded events as a timeline"))
    .option('--tail <n>', 'only the last N events')
    .option('--json', 'one JSON event per line instead of the timeline')
    .action(
      action(async (traceId: string, options: HistoryOptions) => {
        await withStore(options, async (store, url) => {
          const all = await loadTrace(store, traceId, options, url);
          const total = all.length;
          let events = all;
          if (options.tail !== undefined) events = events.slice(Math.max(0, total - parseCount('tail', options.tail)));
          if (options.json) {
            for (const e of events) print(JSON.stringify(e));
            return;
          }
          const first = all[0]!;
          const shown = events.length === total ? `${total} events` : `last ${events.length} of ${total} events`;
          print(`trace ${traceId}  tenant ${first.tenant}  flow ${first.flow}  ${shown}  started ${new Date(first.ts).toISOString()}`);
          if (events.length > 0) print(formatTimeline(events));
        });
      }),
    );
}

export { registerHistory as register };
