import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { createA2AServer, type A2ACardOptions } from '../../a2a/index.js';
import { opsFromEnv } from '../ops-from-env.js';
import { securityFromEnv } from '../../security/index.js';
import { openAgentRegistry } from '../../registry/index.js';
import { loadFlow } from '../load-flow.js';
import { action, print, storeUrlOf, type StoreCliOptions } from '../store-cli.js';
import { openStateStore } from '../../adapters/store-url.js';
import { InvalidOptionsError } from '../../errors/index.js';

interface ServeOptions extends StoreCliOptions {
  port: string;
  host: string;
  name?: string;
  description?: string;
  publicUrl?: string;
  push?: boolean;
  registry?: string;
}

/**
 * `penguiflow serve ./agent.ts [--port 8080] [--host 127.0.0.1] [--store <url>]`:
 * serves the module's flow as an A2A v1.0 agent (JSON-RPC, REST, SSE, v0.3
 * JSON-RPC). The module may export `card` (A2ACardOptions). Tasks live in the
 * store (default sqlite:./.penguiflow/state.db). SIGINT/SIGTERM drain and stop.
 */
export function register(program: Command): void {
  program
    .command('serve <file>')
    .description('serve a flow as an A2A agent (JSON-RPC, REST, SSE)')
    .option('--port <port>', 'port (0 = any free port)', '8080')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--store <url>', 'task store URL (env PENGUIFLOW_STORE; default sqlite:./.penguiflow/state.db)')
    .option('--name <name>', 'agent name (default: the card export, else the file name)')
    .option('--description <text>', 'agent description')
    .option('--public-url <url>', 'base URL advertised in the agent card')
    .option('--push', 'enable push notifications (webhooks)')
    .option('--registry <url>', 'register in an agent registry (redis://, postgres://…?schema=, sqlite:) and heartbeat (env PENGUIFLOW_REGISTRY)')
    .action(
      action(async (file: string, options: ServeOptions) => {
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidOptionsError(`--port must be 0..65535, got ${options.port}`);
        const flow = await loadFlow(file);
        const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { card?: A2ACardOptions };
        const name = options.name ?? mod.card?.name ?? path.basename(file).replace(/\.[^.]+$/, '');
        const card: A2ACardOptions = { description: options.description ?? mod.card?.description ?? `penguiflow agent ${name}`, ...mod.card, name };
        const store = await openStateStore(storeUrlOf(options));
        // Authentication, scopes, rate limits and TLS from env (docs/security.md): off unless configured.
        // A configuration that authenticates but cannot bind tenants (mTLS alone) refuses to start here.
        const { security, tls, webhookPolicy } = securityFromEnv();
        // PENGUIFLOW_METRICS_PORT serves /metrics (admin credential when auth is on), /healthz, /readyz on 127.0.0.1; PENGUIFLOW_TRACING=1 exports spans.
        const obs = await opsFromEnv({ store, ...(security ? { authenticators: security.authenticators } : {}) });
        if (!flow.isRunning) {
          for (const middleware of obs.middlewares) flow.use(middleware);
          flow.run();
        }
        const registryUrl = options.registry ?? process.env.PENGUIFLOW_REGISTRY;
        const registry = registryUrl === undefined ? undefined : await openAgentRegistry(registryUrl);
        const server = createA2AServer({
          flow: obs.wrap(flow),
          store,
          card: security === undefined ? card : { ...card, ...security.card },
          ...(security === undefined ? {} : { auth: security.auth, authorize: security.authorize }),
          ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
          // --push always runs behind the SSRF guard: public addresses only, checked at registration and pinned per connection, redirects not followed.
          ...(options.push ? { push: { enabled: true, ...(webhookPolicy ? { outbound: webhookPolicy } : {}) } } : {}),
          ...(registry === undefined ? {} : { registry: { registry, ...(options.publicUrl ? { url: options.publicUrl } : {}) } }),
        });
        const { url } = await server.listen({ port, host: options.host, ...(tls === undefined ? {} : { tls }) });
        print(`penguiflow: serving ${name} at ${url} (card ${url}/.well-known/agent-card.json)`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await server.close();
        await registry?.close?.();
        await flow.stop({ timeoutMs: 10_000 });
        await obs.close();
        await store.close?.();
        print('penguiflow: stopped');
      }),
    );
}

export { register as registerServe };
