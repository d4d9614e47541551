/** `pg`, loaded on first use (see peer.ts). `import pg from '…/peers/pg.js'` reads like `import pg from 'pg'`. */
import type * as Pg from 'pg';
import { lazyExport } from './peer.js';

const pg = lazyExport<typeof Pg>('pg', (m) => m.default ?? m, { kind: 'object' });
// A type-only namespace merged with the value, so `pg.Pool` works as a type as it does with the real default import.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace pg {
  export type Pool = Pg.Pool;
  export type PoolClient = Pg.PoolClient;
  export type PoolConfig = Pg.PoolConfig;
  export type Client = Pg.Client;
  export type ClientConfig = Pg.ClientConfig;
  export type QueryResult<R extends Pg.QueryResultRow = any> = Pg.QueryResult<R>;
  export type QueryResultRow = Pg.QueryResultRow;
  export type DatabaseError = Pg.DatabaseError;
}
export default pg;
