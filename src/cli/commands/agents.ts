import type { Command } from 'commander';
import { openAgentRegistry } from '../../registry/open-registry.js';
import { checkAgentInstance } from '../../registry/validate.js';
import { action, print } from '../store-cli.js';
import { announce, requireUrl } from '../connect-url.js';

/** `penguiflow agents --registry <url> [--name n] [--skill s] [--json]`: live agent instances from the registry (`--registry` or PENGUIFLOW_REGISTRY is required). */
export function registerAgents(program: Command): void {
  program
    .command('agents')
    .description('list live agent instances (from their heartbeats in the registry)')
    .option('--registry <url>', 'registry URL, required unless PENGUIFLOW_REGISTRY is set: redis://, postgres://…?schema=, sqlite:<path>')
    .option('--name <name>', 'only instances of this agent')
    .option('--skill <skill>', 'only instances with this skill')
    .option('--json', 'JSON lines')
    .action(
      action(async (opts: { registry?: string; name?: string; skill?: string; json?: boolean }) => {
        const url = requireUrl('registry', opts.registry, 'redis://127.0.0.1:6379');
        announce('agents', 'registry', url);
        const registry = await openAgentRegistry(url);
        try {
          const query: { name?: string; skill?: string } = {};
          if (opts.name !== undefined) query.name = opts.name;
          if (opts.skill !== undefined) query.skill = opts.skill;
          const entries = await registry.list(query);
          const now = Date.now();
          if (opts.json) {
            for (const e of entries) {
              const problem = checkAgentInstance(e);
              const { card: _card, ...rest } = e;
              print(JSON.stringify(problem ? { id: e.id, invalid: problem } : rest));
            }
            return;
          }
          if (entries.length === 0) print('no live agent instances');
          for (const e of entries) {
            const problem = checkAgentInstance(e);
            if (problem) {
              print(`${String(e.id).padEnd(28)} INVALID (${problem}): ignored by callers`);
              continue;
            }
            const age = Math.max(0, now - e.heartbeatAt);
            print(
              `${e.id.padEnd(28)} ${e.name.padEnd(14)} ${e.url.padEnd(28)} in flight ${e.load.inflight}/${e.capacity}  queued ${e.load.queueDepth}  heartbeat ${age} ms ago  skills ${e.skills.join(',')}`,
            );
          }
        } finally {
          await registry.close?.();
        }
      }),
    );
}
