import type { Command } from 'commander';
import { createA2AClient } from '../../a2a/index.js';
import { findPenguiflowError } from '../../errors/index.js';
import type { RemoteTransport } from '../../protocols/remote-transport.js';
import type { RemoteBinding, StateStore } from '../../protocols/state-store.js';
import { action, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';

export interface CancelOutcome {
  binding: RemoteBinding;
  ok: boolean;
  error?: string;
}

/**
 * Cancels every still-running remote task bound to a trace, from the bindings
 * the calling process recorded (it may be gone: this works after a restart),
 * and marks each binding `cancelled`.
 */
export async function cancelRemoteTasks(
  store: StateStore,
  traceId: string,
  options: { tenant?: string | null; transport?: RemoteTransport; timeoutMs?: number } = {},
): Promise<CancelOutcome[]> {
  const transport = options.transport ?? createA2AClient({ timeoutMs: options.timeoutMs ?? 10_000 });
  const bindings = await store.findRemoteBindings({ tenant: options.tenant ?? null, traceId });
  const out: CancelOutcome[] = [];
  for (const binding of bindings.filter((b) => b.status === 'running')) {
    try {
      await transport.cancel({ agentUrl: binding.agentUrl, taskId: binding.taskId, tenant: binding.tenant });
      await store.saveRemoteBinding({ ...binding, status: 'cancelled', updatedAt: Date.now() });
      out.push({ binding, ok: true });
    } catch (error) {
      out.push({ binding, ok: false, error: findPenguiflowError(error)?.message ?? (error instanceof Error ? error.message : String(error)) });
    }
  }
  return out;
}

/**
 * `penguiflow cancel <traceId> [--store <url>] [--tenant T]`: cancels the
 * remote A2A tasks of a trace using the recorded RemoteBindings.
 */
export function register(program: Command): void {
  withStoreOptions(program.command('cancel <traceId>').description("cancel a trace's remote A2A tasks (from the recorded bindings)"))
    .option('--timeout <ms>', 'budget per remote cancel', '10000')
    .option('--json', 'one JSON line per remote task')
    .action(
      action(async (traceId: string, options: StoreCliOptions & { timeout: string; json?: boolean }) => {
        await withStore(options, async (store) => {
          const results = await cancelRemoteTasks(store, traceId, { tenant: options.tenant ?? null, timeoutMs: Number(options.timeout) });
          if (options.json) {
            for (const r of results) print(JSON.stringify({ ok: r.ok, taskId: r.binding.taskId, agentUrl: r.binding.agentUrl, node: r.binding.node, error: r.error }));
          } else if (results.length === 0) {
            print(`no running remote tasks for trace ${traceId}`);
            return;
          }
          for (const r of options.json ? [] : results) {
            print(`${r.ok ? 'cancelled' : 'FAILED   '} ${r.binding.taskId} at ${r.binding.agentUrl} (node ${r.binding.node})${r.error ? `: ${r.error}` : ''}`);
          }
          if (results.some((r) => !r.ok)) process.exitCode = 1;
        });
      }),
    );
}

export { register as registerCancel };
