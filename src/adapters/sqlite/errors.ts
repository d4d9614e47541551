import { PenguiflowError, StoreCorruptError, StoreUnavailableError } from '../../errors/index.js';

/** Maps a better-sqlite3 error to a typed store error, keeping the original as `cause`. */
export function mapSqliteError(error: unknown, path: string): unknown {
  if (error instanceof PenguiflowError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StoreCorruptError(`${path} is corrupt or not a SQLite database: ${message}`, { cause: error, details: { path, code } });
  }
  if (error instanceof TypeError && /database connection is not open/.test(message)) {
    return new StoreUnavailableError(`The SQLite store ${path} is closed`, { cause: error, details: { path }, retryable: false });
  }
  if (code.startsWith('SQLITE_')) {
    return new StoreUnavailableError(`The SQLite store ${path} failed: ${message} (${code})`, { cause: error, details: { path, code } });
  }
  return error;
}
