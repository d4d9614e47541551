/**
 * `better-sqlite3`, loaded on first use (see peer.ts). A native addon that was
 * never built (installed with `--ignore-scripts`) is a MISSING_PEER error
 * with the rebuild command, not "Could not locate the bindings file".
 */
import type BetterSqlite3 from 'better-sqlite3';
import { MissingPeerDependencyError } from '../errors/index.js';
import { lazyExport } from './peer.js';

/** A native-addon load failure as MISSING_PEER with the rebuild command; any other error unchanged. */
export function notBuilt(error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  if (!/Could not locate the bindings file|was compiled against a different Node\.js version|invalid ELF header/i.test(message)) return error;
  return new MissingPeerDependencyError(
    'better-sqlite3 is installed but its native addon is not built for this Node (installed with --ignore-scripts, or another Node version): npm rebuild better-sqlite3',
    { cause: error, details: { package: 'better-sqlite3', install: 'npm rebuild better-sqlite3' } },
  );
}

/** What penguiflow uses of better-sqlite3's default export (its own constructor type is not exported by @types). */
interface DatabaseConstructor {
  new (filename?: string | Buffer, options?: BetterSqlite3.Options): BetterSqlite3.Database;
  readonly prototype: BetterSqlite3.Database;
}

const Database: DatabaseConstructor = lazyExport<typeof BetterSqlite3>('better-sqlite3', (m) => m.default ?? m, { wrapError: notBuilt });
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace Database {
  export type Database = BetterSqlite3.Database;
  export type Statement<BindParameters extends unknown[] | object = unknown[], Result = unknown> = BetterSqlite3.Statement<BindParameters, Result>;
  export type Options = BetterSqlite3.Options;
  export type RunResult = BetterSqlite3.RunResult;
}
export default Database;
