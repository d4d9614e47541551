import pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresStateStore, type PostgresStateStore } from '../../src/adapters/postgres/index.js';
import type { LeaseAgentRegistry } from '../../src/registry/index.js';
import { createPostgresAgentRegistry } from '../../src/registry/postgres/index.js';
import { describeAgentRegistry } from '../../src/testing/index.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('postgres');
const schema = `pf_reg_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
let shared: PostgresStateStore | undefined;

afterAll(async () => {
  await shared?.close();
  if (!url) return;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describeAgentRegistry<LeaseAgentRegistry>({
  name: 'Postgres (lease-backed)',
  skip: url ? undefined : 'postgres is not reachable (see tests/helpers/services.ts)',
  create: async () => {
    shared ??= await createPostgresStateStore({ url: url!, schema, poolSize: 4 });
    return createPostgresAgentRegistry({ store: shared });
  },
  writeRaw: async (r, id, json, ttl) => {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(json) as Record<string, unknown>;
    } catch {
      data = { garbage: json };
    }
    await r.store.acquireLease(`agent:${id}`, id, ttl, data);
  },
});
