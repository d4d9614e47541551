import path from 'node:path';
import { createSqliteStateStore } from '../../adapters/sqlite/index.js';
import { formatTimeline } from '../timeline.js';
import { buildDemoFlow, runDemoTraces } from './local-flow.js';
import { runWorkersDemo } from './workers.js';
import { runRemoteDemo } from './remote.js';

export interface DemoOptions {
  /** SQLite file for the demo's history. Default ./.penguiflow/state.db */
  storePath?: string;
  print?: (line: string) => void;
}

/**
 * `npm start`: the embedded default (SQLite history, in-process flow) on a
 * small flow, then each trace's timeline read back from the store.
 */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const print = options.print ?? ((line: string) => console.log(line));
  const storePath = options.storePath ?? path.join('.penguiflow', 'state.db');
  const store = createSqliteStateStore({ path: storePath });
  const tenant = 'demo';
  const flow = buildDemoFlow(store);
  flow.run();
  print(`penguiflow demo — history in ${storePath} (SQLite, WAL)\n`);
  print('1. One flow, five traces:');
  const traces = await runDemoTraces(flow, tenant, print);
  await flow.stop();

  print('\n2. Each trace as recorded in the store:');
  for (const trace of traces) {
    const events = await store.loadHistory(trace.traceId, { tenant });
    print(`\n  ${trace.label} — trace ${trace.traceId}`);
    print(formatTimeline(events));
  }

  print('\n3. The same kind of flow across two worker processes (SQLite queue, no broker):');
  await runWorkersDemo(path.dirname(storePath), storePath, store, print);

  print('\n4. A remote agent as a node (A2A over HTTP on 127.0.0.1, a second process):');
  await runRemoteDemo(path.dirname(storePath), store, print);
  await store.close();
  print(`\nSee one again: npx penguiflow history ${traces[0]?.traceId ?? '<traceId>'} --store sqlite:${storePath}`);
}
