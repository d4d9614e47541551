import type { Command } from 'commander';
import { InvalidOptionsError } from '../../errors/index.js';
import { hasTraceListing } from '../../protocols/store-capabilities.js';
import { action, parseDuration, print, withStore, type StoreCliOptions } from '../store-cli.js';
import { DEFAULT_STORE_URL } from '../../adapters/store-url.js';

interface PruneOptions extends StoreCliOptions {
  olderThan: string;
}

/**
 * `penguiflow prune --older-than 7d [--store <url>]`: deletes traces whose last
 * event is older than the age, and finished remote bindings as old.
 */
export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('delete traces (and finished remote bindings) older than an age')
    .requiredOption('--older-than <duration>', 'age, e.g. 7d, 12h, 30m')
    .option('--store <url>', `state store URL (env PENGUIFLOW_STORE; default ${DEFAULT_STORE_URL})`)
    .action(
      action(async (options: PruneOptions) => {
        const cutoff = Date.now() - parseDuration(options.olderThan);
        await withStore(options, async (store, url) => {
          if (!hasTraceListing(store)) throw new InvalidOptionsError(`The store at ${url} does not support pruning`);
          const removed = await store.prune({ olderThan: cutoff });
          print(`pruned ${removed} events from traces last active before ${new Date(cutoff).toISOString()} in ${url}`);
        });
      }),
    );
}

export { registerPrune as register };
