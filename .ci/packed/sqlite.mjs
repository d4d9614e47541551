// penguiflow + better-sqlite3: the embedded store, the SQLite queue (a worker process, no broker), openStateStore.
import { createFlow, message, node } from 'penguiflow';
import { createSqliteQueue, createSqliteStateStore } from 'penguiflow/sqlite';
import { openStateStore } from 'penguiflow/stores';
import { assert, ok } from './lib.mjs';

const stateStore = createSqliteStateStore({ path: './state.db' });
const flow = createFlow(node('upper', (m) => String(m.payload).toUpperCase()), { stateStore });
flow.run();
const msg = message('penguin', { tenant: 'packed' });
assert.equal((await flow.call(msg)).payload, 'PENGUIN');
await flow.stop();
await stateStore.close();
const reopened = await openStateStore('sqlite:./state.db');
const events = await reopened.loadHistory(msg.traceId, { tenant: 'packed' });
assert.deepEqual(events.map((e) => e.type), ['node_start', 'node_success', 'trace_complete']);
await reopened.close?.();
ok('SQLite history survives closing the store (createSqliteStateStore, openStateStore from penguiflow/stores)');

const queue = createSqliteQueue({ path: './queue-direct.db' });
await queue.publish({ id: 'e1', topic: 't', message: message(1, { tenant: 'packed' }), ts: Date.now() });
await queue.close();
ok('createSqliteQueue opens and publishes');
