// penguiflow + pg: the PostgreSQL state store in its own schema (the runner also drives the PostgreSQL queue
// through a worker process with bus-roundtrip.mjs first; this script drops both schemas).
import pg from 'pg';
import { createFlow, message, node } from 'penguiflow';
import { createPostgresStateStore } from 'penguiflow/postgres';
import { assert, ok, unique } from './lib.mjs';

const url = process.env.PACKED_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `packed_${unique}`;
const stateStore = await createPostgresStateStore({ url, schema });
try {
  const flow = createFlow(node('upper', (m) => String(m.payload).toUpperCase()), { stateStore });
  flow.run();
  const msg = message('penguin', { tenant: 'packed' });
  assert.equal((await flow.call(msg)).payload, 'PENGUIN');
  await flow.stop();
  const events = await stateStore.loadHistory(msg.traceId, { tenant: 'packed' });
  assert.deepEqual(events.map((e) => e.type), ['node_start', 'node_success', 'trace_complete']);
  ok(`PostgreSQL history in schema ${schema}`);
} finally {
  await stateStore.close();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.query(`DROP SCHEMA IF EXISTS "packed_q_${unique}" CASCADE`);
  await admin.end();
}
