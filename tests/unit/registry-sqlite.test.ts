import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { describeAgentRegistry } from '../../src/testing/index.js';
import { createSqliteAgentRegistry } from '../../src/registry/sqlite/index.js';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pf-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = createSqliteStateStore({ path: path.join(dir, 'state.db') });
afterAll(() => store.close());

describeAgentRegistry({
  name: 'SQLite (lease-backed)',
  create: () => createSqliteAgentRegistry({ store }),
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
