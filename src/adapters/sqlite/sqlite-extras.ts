import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { PayloadTooLargeError } from '../../errors/index.js';
import type { Lease } from '../../protocols/store-capabilities.js';
import type { Artifact, ArtifactInput, ArtifactRef, StoreStats } from '../../protocols/store-extras.js';
import { jsonOrNull, leaseFromRow, type LeaseRow } from '../shared-sql/rows.js';

type Stmt = (sql: string) => Database.Statement;

interface ArtifactRow {
  tenant: string;
  id: string;
  size: number;
  mime_type: string | null;
  name: string | null;
  created_at: number;
  data?: Buffer;
}

function refFromRow(row: ArtifactRow): ArtifactRef {
  const ref: ArtifactRef = { id: row.id, tenant: row.tenant, sha256: row.id, size: row.size, createdAt: row.created_at };
  if (row.mime_type !== null) ref.mimeType = row.mime_type;
  if (row.name !== null) ref.name = row.name;
  return ref;
}

/** Leases, planner state, session memory, artifacts and the steering inbox of SqliteStateStore. */
export class SqliteExtras {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: Stmt,
    private readonly maxArtifactBytes: number,
    private readonly stats: StoreStats,
  ) {}

  // Leases use this machine's clock: every process sharing a SQLite file runs on one host.
  acquireLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): boolean {
    const now = Date.now();
    return (
      this.stmt(`INSERT INTO leases (key, owner, expires_at, data) VALUES (?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
          data = CASE WHEN leases.owner = excluded.owner AND excluded.data IS NULL THEN leases.data ELSE excluded.data END
        WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`).run(key, owner, now + ttlMs, jsonOrNull(data), now).changes === 1
    );
  }

  renewLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): boolean {
    return (
      this.stmt('UPDATE leases SET expires_at = ?, data = coalesce(?, data) WHERE key = ? AND owner = ?').run(Date.now() + ttlMs, jsonOrNull(data), key, owner)
        .changes === 1
    );
  }

  releaseLease(key: string, owner: string): boolean {
    return this.stmt('DELETE FROM leases WHERE key = ? AND owner = ?').run(key, owner).changes === 1;
  }

  getLease(key: string): Lease | undefined {
    const row = this.stmt('SELECT * FROM leases WHERE key = ? AND expires_at > ?').get(key, Date.now()) as LeaseRow | undefined;
    return row && leaseFromRow(row);
  }

  listLeases(prefix: string): Lease[] {
    const rows = this.stmt('SELECT * FROM leases WHERE instr(key, ?) = 1 AND expires_at > ? ORDER BY key').all(prefix, Date.now()) as LeaseRow[];
    return rows.map(leaseFromRow);
  }

  savePlannerState(token: string, tenant: string, state: unknown): void {
    this.stmt(`INSERT INTO planner_state (tenant, token, state, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (tenant, token) DO UPDATE SET state = excluded.state, created_at = excluded.created_at`).run(
      tenant,
      token,
      JSON.stringify(state ?? null),
      Date.now(),
    );
  }

  consumePlannerState(token: string, tenant: string): unknown {
    const json = this.stmt('DELETE FROM planner_state WHERE tenant = ? AND token = ? RETURNING state').pluck().get(tenant, token) as string | undefined;
    return json === undefined ? undefined : JSON.parse(json);
  }

  saveMemoryState(sessionId: string, tenant: string, state: unknown): void {
    this.stmt(`INSERT INTO memory_state (tenant, session_id, state, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (tenant, session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`).run(
      tenant,
      sessionId,
      JSON.stringify(state ?? null),
      Date.now(),
    );
  }

  loadMemoryState(sessionId: string, tenant: string): unknown {
    const json = this.stmt('SELECT state FROM memory_state WHERE tenant = ? AND session_id = ?').pluck().get(tenant, sessionId) as string | undefined;
    return json === undefined ? undefined : JSON.parse(json);
  }

  putArtifact(tenant: string, input: ArtifactInput): ArtifactRef {
    const size = input.data.byteLength;
    if (size > this.maxArtifactBytes) {
      this.stats.rejected++;
      throw new PayloadTooLargeError(`Artifact of ${size} bytes is over maxArtifactBytes (${this.maxArtifactBytes})`, {
        details: { size, maxArtifactBytes: this.maxArtifactBytes },
      });
    }
    const id = createHash('sha256').update(input.data).digest('hex');
    this.stmt('INSERT OR IGNORE INTO artifacts (tenant, id, size, mime_type, name, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      tenant,
      id,
      size,
      input.mimeType ?? null,
      input.name ?? null,
      Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength),
      Date.now(),
    );
    return refFromRow(this.stmt('SELECT tenant, id, size, mime_type, name, created_at FROM artifacts WHERE tenant = ? AND id = ?').get(tenant, id) as ArtifactRow);
  }

  getArtifact(id: string, tenant: string): Artifact | undefined {
    const row = this.stmt('SELECT * FROM artifacts WHERE tenant = ? AND id = ?').get(tenant, id) as ArtifactRow | undefined;
    return row && { ...refFromRow(row), data: new Uint8Array(row.data!) };
  }

  deleteArtifact(id: string, tenant: string): boolean {
    return this.stmt('DELETE FROM artifacts WHERE tenant = ? AND id = ?').run(tenant, id).changes === 1;
  }

  pushSteering(sessionId: string, tenant: string, message: unknown): void {
    this.stmt('INSERT INTO steering (tenant, session_id, message, ts) VALUES (?, ?, ?, ?)').run(tenant, sessionId, JSON.stringify(message ?? null), Date.now());
  }

  drainSteering(sessionId: string, tenant: string): unknown[] {
    const rows = this.stmt('DELETE FROM steering WHERE tenant = ? AND session_id = ? RETURNING seq, message').all(tenant, sessionId) as {
      seq: number;
      message: string;
    }[];
    return rows.sort((a, b) => a.seq - b.seq).map((r) => JSON.parse(r.message) as unknown);
  }
}
