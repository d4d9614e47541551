import type { Command } from 'commander';
import { InvalidOptionsError } from '../../errors/index.js';
import { createMetrics } from '../../observability/metrics.js';
import { parsePrometheusText } from '../../observability/prom-text.js';
import { hasTraceListing } from '../../protocols/store-capabilities.js';
import { action, parseCount, parseDuration, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';

interface MetricsCliOptions extends StoreCliOptions {
  since?: string;
  limit: string;
  json?: boolean;
}

/**
 * `penguiflow metrics [--store <url>] [--tenant T] [--since 1h] [--limit N] [--json]`:
 * the Prometheus counters and histograms recomputed from the stored history
 * (the same middleware a live process runs), for the traces in range. Compare
 * with a live `/metrics`, or read node health without a Prometheus.
 */
export function registerMetrics(program: Command): void {
  withStoreOptions(program.command('metrics').description('Prometheus metrics recomputed from the stored history'))
    .option('--since <duration>', 'only traces active within this long (e.g. 1h, 7d)')
    .option('--limit <n>', 'at most N traces (newest first)', '1000')
    .option('--json', 'one JSON sample per line ({ name, labels, value }) instead of Prometheus text')
    .action(
      action(async (options: MetricsCliOptions) => {
        const limit = Math.max(1, parseCount('limit', options.limit));
        const since = options.since === undefined ? undefined : Date.now() - parseDuration(options.since);
        await withStore(options, async (store, url) => {
          if (!hasTraceListing(store)) throw new InvalidOptionsError(`The store at ${url} cannot list traces`);
          const metrics = createMetrics({ tenantLabel: options.tenant === undefined });
          const tenant = options.tenant ?? null;
          let cursor: string | undefined;
          let seen = 0;
          do {
            const page = await store.listTraces({ tenant, limit: Math.min(200, limit - seen), ...(since !== undefined ? { since } : {}), ...(cursor ? { cursor } : {}) });
            for (const t of page.traces) {
              for (const e of await store.loadHistory(t.traceId, { tenant: t.tenant })) await metrics.middleware(e);
            }
            seen += page.traces.length;
            cursor = page.nextCursor;
          } while (cursor && seen < limit);
          const text = await metrics.text();
          if (!options.json) return void process.stdout.write(text);
          for (const s of parsePrometheusText(text)) if (!s.name.endsWith('_bucket') && s.name !== 'penguiflow_traces_in_flight') print(JSON.stringify(s));
        });
      }),
    );
}

export { registerMetrics as register };
