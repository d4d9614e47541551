/**
 * Step 2: durable history in SQLite. Every FlowEvent (start, retry, success, …)
 * is recorded off the hot path and can be read back after a restart.
 *
 *   npm install better-sqlite3@12
 *   npx tsx 2-sqlite-history.ts
 *   npx penguiflow traces --store sqlite:./.penguiflow/getting-started.db
 */
import { createFlow, message, node, type Message } from 'penguiflow';
import { createSqliteStateStore } from 'penguiflow/sqlite';

const path = process.env.STORE_PATH ?? './.penguiflow/getting-started.db';
const stateStore = createSqliteStateStore({ path });

let attempts = 0;
const flaky = node(
  'flaky',
  (m: Message<string>) => {
    attempts++;
    if (attempts === 1) throw new Error('first attempt fails');
    return `ok: ${m.payload}`;
  },
  { maxRetries: 2, backoff: { baseMs: 10, multiplier: 2, maxMs: 100, jitter: 0 } },
);

const flow = createFlow(flaky, { stateStore });
flow.run();
const msg = message('hello', { tenant: 'acme' });
const result = await flow.call(msg);
await flow.stop(); // drains, then flushes the history

const events = await stateStore.loadHistory(msg.traceId, { tenant: 'acme' });
console.log(`result: ${String(result.payload)}`);
console.log(`recorded ${events.length} events in ${path}: ${events.map((e) => e.type).join(', ')}`);
await stateStore.close(); // a store you created is yours to close
