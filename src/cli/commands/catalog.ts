import type { Command } from 'commander';

/** One CLI command: what the top-level help shows, and how to load its module (only when it runs). */
export interface CommandEntry {
  name: string;
  usage: string;
  description: string;
  load(): Promise<(program: Command) => void>;
}

/**
 * Every CLI command. Only the command being run is imported, so `--help`,
 * `--version` and `history` do not load the A2A server, the drivers or the
 * observability stack. tests/unit/cli-catalog.test.ts checks that each
 * entry's usage and description match what its module registers.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'demo', usage: 'demo', description: 'Run the demo on the embedded default (SQLite history, in-process flow)', load: async () => (await import('./demo.js')).registerDemo },
  { name: 'history', usage: 'history <traceId>', description: "print a trace's recorded events as a timeline", load: async () => (await import('./history.js')).registerHistory },
  { name: 'traces', usage: 'traces', description: 'list recent traces, newest first', load: async () => (await import('./traces.js')).registerTraces },
  { name: 'replay', usage: 'replay <traceId>', description: "replay a trace's events with their original timing", load: async () => (await import('./replay.js')).registerReplay },
  { name: 'prune', usage: 'prune', description: 'delete traces (and finished remote bindings) older than an age', load: async () => (await import('./prune.js')).registerPrune },
  { name: 'serve', usage: 'serve <file>', description: 'serve a flow as an A2A agent (JSON-RPC, REST, SSE)', load: async () => (await import('./serve.js')).registerServe },
  { name: 'cancel', usage: 'cancel <traceId>', description: "cancel a trace's remote A2A tasks (from the recorded bindings)", load: async () => (await import('./cancel.js')).registerCancel },
  { name: 'worker', usage: 'worker', description: "run a flow's distributed nodes, consuming their edges from the bus", load: async () => (await import('./worker.js')).registerWorker },
  { name: 'workers', usage: 'workers', description: 'list live workers (from their heartbeats in the store)', load: async () => (await import('./workers.js')).registerWorkers },
  { name: 'dlq', usage: 'dlq', description: 'dead-lettered messages', load: async () => (await import('./dlq.js')).registerDlq },
  { name: 'agents', usage: 'agents', description: 'list live agent instances (from their heartbeats in the registry)', load: async () => (await import('./agents.js')).registerAgents },
  { name: 'ui', usage: 'ui', description: 'serve the trace viewer: trace list, timeline per trace, live updates', load: async () => (await import('./ui.js')).registerUi },
  { name: 'metrics', usage: 'metrics', description: 'Prometheus metrics recomputed from the stored history', load: async () => (await import('./metrics.js')).registerMetrics },
];

/**
 * Registers what `argv` needs: the named command's full module, or (for the
 * top-level help, an unknown name or no command) a one-line stub per command.
 */
export async function registerFor(program: Command, argv: readonly string[]): Promise<void> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const wanted = words[0] === 'help' ? words[1] : words[0];
  const entry = COMMANDS.find((c) => c.name === wanted);
  if (entry !== undefined) {
    (await entry.load())(program);
    return;
  }
  for (const c of COMMANDS) program.command(c.usage).description(c.description);
}
