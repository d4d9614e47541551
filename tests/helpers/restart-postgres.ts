/**
 * Restarts the local PostgreSQL cluster for fault tests, then waits until it
 * accepts connections again. This is the ONE sanctioned way for a test to
 * stop a shared service (design §7): it runs
 *   pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart
 * which needs root (or the postgres user) on the machine running the tests.
 * Other test files using Postgres at that moment will see their connections
 * dropped, so keep fault tests in the e2e project (files run one at a time).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface RestartResult {
  /** Time from the restart command to the first successful query, ms. */
  downMs: number;
}

export async function restartPostgres(url: string, options: { timeoutMs?: number } = {}): Promise<RestartResult> {
  const versions = readdirSync('/etc/postgresql');
  if (versions.length !== 1) throw new Error(`restartPostgres: expected one version under /etc/postgresql, found ${versions.join(', ')}`);
  const started = Date.now();
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0]!, 'main', 'restart'], { timeout: options.timeoutMs ?? 60_000 });
  await waitForPostgres(url, options.timeoutMs ?? 60_000);
  return { downMs: Date.now() - started };
}

/** Resolves once `SELECT 1` succeeds on `url`; rejects after `timeoutMs`. */
export async function waitForPostgres(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not come back within ${timeoutMs} ms`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
