/** A calling process: a flow with a RemoteNode and a SQLite store; prints the trace id once the binding is durable, then waits to be killed. */
import { createFlow, message } from '../../src/index.js';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { remoteNode } from '../../src/remote/index.js';

const [agentUrl, dbPath] = process.argv.slice(2) as [string, string];
const store = createSqliteStateStore({ path: dbPath, durability: 'sync' });
const flow = createFlow(remoteNode({ name: 'research', transport: createA2AClient(), agentUrl }), { name: 'caller', stateStore: store });
flow.run();
const msg = message('slow:60000', { tenant: 'acme' });
await flow.emit(msg);
for (;;) {
  const b = await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId });
  if (b.length > 0) break;
  await new Promise((r) => setTimeout(r, 20));
}
await store.flush?.();
console.log(`TRACE=${msg.traceId}`);
setInterval(() => undefined, 1_000);
