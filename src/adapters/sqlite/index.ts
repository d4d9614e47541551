/**
 * @module penguiflow/sqlite — the embedded durable StateStore (better-sqlite3, WAL).
 *
 * @example
 * import { createSqliteStateStore } from 'penguiflow/sqlite';
 * const store = createSqliteStateStore({ path: './.penguiflow/state.db' });
 */
export * from './sqlite-state-store.js';
export { SQLITE_SCHEMA_VERSION } from './migrations.js';
export * from './sqlite-queue.js';
