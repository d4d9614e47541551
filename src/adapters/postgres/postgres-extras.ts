import { createHash } from 'node:crypto';
import { PayloadTooLargeError } from '../../errors/index.js';
import type { Lease } from '../../protocols/store-capabilities.js';
import type { Artifact, ArtifactInput, ArtifactRef, StoreStats } from '../../protocols/store-extras.js';
import { jsonOrNull, leaseFromRow, type LeaseRow } from '../shared-sql/rows.js';
import type { PgRunner } from './pg-runner.js';

/** The server's clock in epoch ms: leases compare against one clock, whatever the clients' skew. */
const NOW = `(extract(epoch from clock_timestamp()) * 1000)::float8`;

interface ArtifactRow {
  tenant: string;
  id: string;
  size: string;
  mime_type: string | null;
  name: string | null;
  created_at: number;
  data?: Buffer;
}

function refFromRow(row: ArtifactRow): ArtifactRef {
  const ref: ArtifactRef = { id: row.id, tenant: row.tenant, sha256: row.id, size: Number(row.size), createdAt: row.created_at };
  if (row.mime_type !== null) ref.mimeType = row.mime_type;
  if (row.name !== null) ref.name = row.name;
  return ref;
}

type Row<T> = T & Record<string, unknown>;

/** Leases, planner state, session memory, artifacts and the steering inbox of PostgresStateStore. */
export class PgExtras {
  constructor(
    private readonly db: PgRunner,
    private readonly q: string,
    private readonly maxArtifactBytes: number,
    private readonly stats: StoreStats,
  ) {}

  async acquireLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO ${this.q}.leases AS l (key, owner, expires_at, data) VALUES ($1, $2, ${NOW} + $3, $4::json)
       ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
         data = CASE WHEN l.owner = EXCLUDED.owner AND EXCLUDED.data IS NULL THEN l.data ELSE EXCLUDED.data END
       WHERE l.owner = EXCLUDED.owner OR l.expires_at <= ${NOW}
       RETURNING 1`,
      [key, owner, ttlMs, jsonOrNull(data)],
      { idempotent: true },
    );
    return rows.length === 1;
  }

  async renewLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE ${this.q}.leases SET expires_at = ${NOW} + $3, data = coalesce($4::json, data) WHERE key = $1 AND owner = $2 RETURNING 1`,
      [key, owner, ttlMs, jsonOrNull(data)],
      { idempotent: true },
    );
    return rows.length === 1;
  }

  async releaseLease(key: string, owner: string): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM ${this.q}.leases WHERE key = $1 AND owner = $2 RETURNING 1`, [key, owner], { idempotent: false });
    return rows.length === 1;
  }

  async getLease(key: string): Promise<Lease | undefined> {
    const [row] = await this.db.query<Row<LeaseRow>>(`SELECT * FROM ${this.q}.leases WHERE key = $1 AND expires_at > ${NOW}`, [key], { idempotent: true });
    return row && leaseFromRow(row);
  }

  async listLeases(prefix: string): Promise<Lease[]> {
    const rows = await this.db.query<Row<LeaseRow>>(`SELECT * FROM ${this.q}.leases WHERE starts_with(key, $1) AND expires_at > ${NOW} ORDER BY key`, [prefix], {
      idempotent: true,
    });
    return rows.map(leaseFromRow);
  }

  async savePlannerState(token: string, tenant: string, state: unknown): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.q}.planner_state (tenant, token, state, created_at) VALUES ($1, $2, $3::json, $4)
       ON CONFLICT (tenant, token) DO UPDATE SET state = EXCLUDED.state, created_at = EXCLUDED.created_at`,
      [tenant, token, JSON.stringify(state ?? null), Date.now()],
      { idempotent: true },
    );
  }

  async consumePlannerState(token: string, tenant: string): Promise<unknown> {
    const [row] = await this.db.query<{ state: unknown }>(`DELETE FROM ${this.q}.planner_state WHERE tenant = $1 AND token = $2 RETURNING state`, [tenant, token], {
      idempotent: false,
    });
    return row?.state;
  }

  async saveMemoryState(sessionId: string, tenant: string, state: unknown): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.q}.memory_state (tenant, session_id, state, updated_at) VALUES ($1, $2, $3::json, $4)
       ON CONFLICT (tenant, session_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
      [tenant, sessionId, JSON.stringify(state ?? null), Date.now()],
      { idempotent: true },
    );
  }

  async loadMemoryState(sessionId: string, tenant: string): Promise<unknown> {
    const [row] = await this.db.query<{ state: unknown }>(`SELECT state FROM ${this.q}.memory_state WHERE tenant = $1 AND session_id = $2`, [tenant, sessionId], {
      idempotent: true,
    });
    return row?.state;
  }

  async putArtifact(tenant: string, input: ArtifactInput): Promise<ArtifactRef> {
    const size = input.data.byteLength;
    if (size > this.maxArtifactBytes) {
      this.stats.rejected++;
      throw new PayloadTooLargeError(`Artifact of ${size} bytes is over maxArtifactBytes (${this.maxArtifactBytes})`, {
        details: { size, maxArtifactBytes: this.maxArtifactBytes },
      });
    }
    const id = createHash('sha256').update(input.data).digest('hex');
    const [row] = await this.db.query<Row<ArtifactRow>>(
      `WITH ins AS (
         INSERT INTO ${this.q}.artifacts (tenant, id, size, mime_type, name, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant, id) DO NOTHING RETURNING tenant, id, size, mime_type, name, created_at)
       SELECT * FROM ins UNION ALL SELECT tenant, id, size, mime_type, name, created_at FROM ${this.q}.artifacts WHERE tenant = $1 AND id = $2 LIMIT 1`,
      [tenant, id, size, input.mimeType ?? null, input.name ?? null, Buffer.from(input.data.buffer, input.data.byteOffset, size), Date.now()],
      { idempotent: true },
    );
    if (row) return refFromRow(row);
    // A concurrent put of the same content committed after this statement's snapshot: read it now.
    const [again] = await this.db.query<Row<ArtifactRow>>(
      `SELECT tenant, id, size, mime_type, name, created_at FROM ${this.q}.artifacts WHERE tenant = $1 AND id = $2`,
      [tenant, id],
      { idempotent: true },
    );
    return refFromRow(again!);
  }

  async getArtifact(id: string, tenant: string): Promise<Artifact | undefined> {
    const [row] = await this.db.query<Row<ArtifactRow>>(`SELECT * FROM ${this.q}.artifacts WHERE tenant = $1 AND id = $2`, [tenant, id], { idempotent: true });
    return row && { ...refFromRow(row), data: new Uint8Array(row.data!) };
  }

  async deleteArtifact(id: string, tenant: string): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM ${this.q}.artifacts WHERE tenant = $1 AND id = $2 RETURNING 1`, [tenant, id], { idempotent: false });
    return rows.length === 1;
  }

  async pushSteering(sessionId: string, tenant: string, message: unknown): Promise<void> {
    await this.db.query(`INSERT INTO ${this.q}.steering (tenant, session_id, message, ts) VALUES ($1, $2, $3::json, $4)`, [tenant, sessionId, JSON.stringify(message ?? null), Date.now()], {
      idempotent: false,
    });
  }

  async drainSteering(sessionId: string, tenant: string): Promise<unknown[]> {
    const rows = await this.db.query<{ seq: string; message: unknown }>(
      `DELETE FROM ${this.q}.steering WHERE tenant = $1 AND session_id = $2 RETURNING seq, message`,
      [tenant, sessionId],
      { idempotent: false },
    );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => r.message);
  }
}
