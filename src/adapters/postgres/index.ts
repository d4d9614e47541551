/**
 * @module penguiflow/postgres — the production StateStore on PostgreSQL (pg 8).
 *
 * @example
 * import { createPostgresStateStore } from 'penguiflow/postgres';
 * const store = await createPostgresStateStore({ url: 'postgres://app@db:5432/app', schema: 'penguiflow' });
 */
export * from './postgres-state-store.js';
export { POSTGRES_SCHEMA_VERSION } from './migrations.js';
export { singleClientPool, type PoolLike, type Queryable } from './pg-runner.js';
export * from './postgres-queue.js';
