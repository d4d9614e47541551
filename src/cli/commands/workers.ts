import type { Command } from 'commander';
import { InvalidOptionsError } from '../../errors/index.js';
import { hasLeaseStore } from '../../protocols/store-capabilities.js';
import { action, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';

/** `penguiflow workers [--store url] [--flow name] [--json]`: live workers from their heartbeat leases. */
export function registerWorkers(program: Command): void {
  withStoreOptions(program.command('workers').description('list live workers (from their heartbeats in the store)'))
    .option('--flow <name>', 'only workers of this flow')
    .option('--json', 'JSON lines')
    .action(
      action(async (opts: StoreCliOptions & { flow?: string; json?: boolean }) => {
        await withStore(opts, async (store) => {
          if (!hasLeaseStore(store)) throw new InvalidOptionsError('This store keeps no leases, so it cannot list workers');
          const leases = await store.listLeases(opts.flow === undefined ? 'worker:' : `worker:${opts.flow}:`);
          if (opts.json) {
            for (const l of leases) print(JSON.stringify(l));
            return;
          }
          if (leases.length === 0) print('no live workers');
          for (const l of leases) {
            const d = l.data ?? {};
            print(`${l.owner.padEnd(28)} flow ${String(d.flow ?? '?').padEnd(12)} nodes ${String((d.nodes as string[] | undefined)?.join(',') ?? '')}  in flight ${String(d.inflight ?? 0)}  processed ${String(d.processed ?? 0)}`);
          }
        });
      }),
    );
}
