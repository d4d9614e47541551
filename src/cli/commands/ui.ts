import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { openStateStore, parseSqliteUrl, redactStoreUrl } from '../../adapters/store-url.js';
import { NotFoundError } from '../../errors/index.js';
import { createUiServer } from '../../ui/server.js';
import { securityFromEnv } from '../../security/from-env.js';
import { action, parseCount, print, storeUrlOf } from '../store-cli.js';

interface UiOptions {
  store?: string;
  port: string;
  host: string;
}

/**
 * `penguiflow ui [--store <url>] [--port 4600] [--host 127.0.0.1]`: serves the
 * trace viewer (list, Gantt timeline, live updates) until SIGINT/SIGTERM.
 * With `PENGUIFLOW_API_KEYS` / JWT settings in env, `/api/…` needs an `admin` credential.
 */
export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the trace viewer: trace list, timeline per trace, live updates')
    .option('--store <url>', 'state store URL (env PENGUIFLOW_STORE; default sqlite:./.penguiflow/state.db)')
    .option('--port <port>', 'port (0 picks a free one)', '4600')
    .option('--host <host>', 'interface to listen on; the viewer reads every tenant, keep it local', '127.0.0.1')
    .action(
      action(async (opts: UiOptions) => {
        const url = storeUrlOf(opts);
        if (/^sqlite:/i.test(url) && !existsSync(parseSqliteUrl(url).path)) {
          throw new NotFoundError(`No store at ${parseSqliteUrl(url).path}: run a flow first (npm start) or pass --store <url>`);
        }
        // With credentials configured in env (docs/security.md), the JSON API needs an admin credential.
        const { security } = securityFromEnv();
        const store = await openStateStore(url);
        const ui = await createUiServer({ store, port: parseCount('port', opts.port), host: opts.host, ...(security ? { authenticators: security.authenticators } : {}) });
        print(`penguiflow ui: ${ui.url} (store ${redactStoreUrl(url)})`);
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        });
        await ui.close();
        await store.close?.();
      }),
    );
}

export { registerUi as register };
