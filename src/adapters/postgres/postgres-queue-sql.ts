/**
 * SQL of the PostgreSQL queue, one statement per operation. `S` is replaced
 * by the quoted schema, `NOW_MS` is the database clock in epoch ms (so
 * leases do not depend on the clocks of worker machines).
 *
 * Fencing: a claim sets a random `lease_token`; every statement that acts on
 * a claimed row (ack, extend, retry, dead-letter) has `lease_token = $token`
 * in its `WHERE`, so a consumer whose lease ran out and whose row was claimed
 * again acts on nothing (0 rows).
 */
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export function queueSql(schema: string) {
  const S = `"${schema.replace(/"/g, '""')}"`;
  const q = (text: string) => text.replace(/\bS\./g, `${S}.`).replace(/NOW_MS/g, NOW_MS);
  return {
    /** Idempotent: creates the tables, and upgrades tables of earlier versions in place. */
    migrate: q(`
      CREATE SCHEMA IF NOT EXISTS ${S};
      CREATE TABLE IF NOT EXISTS S.pf_queue_jobs (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        grp text,
        body bytea NOT NULL,
        deliveries integer NOT NULL DEFAULT 0,
        visible_at bigint NOT NULL,
        locked_by text,
        last_code text,
        last_message text
      );
      CREATE INDEX IF NOT EXISTS pf_queue_jobs_claim ON S.pf_queue_jobs (topic, grp, id);
      CREATE INDEX IF NOT EXISTS pf_queue_jobs_orphans ON S.pf_queue_jobs (topic) WHERE grp IS NULL;
      CREATE TABLE IF NOT EXISTS S.pf_queue_groups (
        topic text NOT NULL,
        grp text NOT NULL,
        PRIMARY KEY (topic, grp)
      );
      ALTER TABLE S.pf_queue_groups ADD COLUMN IF NOT EXISTS expires_at bigint;
      CREATE TABLE IF NOT EXISTS S.pf_queue_dead (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        grp text NOT NULL,
        body bytea NOT NULL,
        deliveries integer NOT NULL,
        code text NOT NULL,
        message text NOT NULL,
        raw boolean NOT NULL,
        dead_at bigint NOT NULL
      );
      CREATE INDEX IF NOT EXISTS pf_queue_dead_topic ON S.pf_queue_dead (topic, id);
      -- fenced leases and publish dedup (upgrade of tables created before them)
      ALTER TABLE S.pf_queue_jobs ADD COLUMN IF NOT EXISTS lease_token text;
      ALTER TABLE S.pf_queue_jobs ADD COLUMN IF NOT EXISTS env_id text;
      ALTER TABLE S.pf_queue_dead ADD COLUMN IF NOT EXISTS env_id text;
      CREATE UNIQUE INDEX IF NOT EXISTS pf_queue_jobs_env ON S.pf_queue_jobs (topic, coalesce(grp, ''), env_id);
    `),
    /**
     * $1 topic, $2 bytea[] bodies, $3 notify channel, $4 text[] envelope ids (null for raw bytes).
     * One row per group (or one orphan row when no group exists yet); an envelope id already queued
     * for a group is not queued again (a retried or late publish is harmless).
     */
    publish: q(`
      WITH g AS (SELECT grp, expires_at FROM S.pf_queue_groups WHERE topic = $1 AND (expires_at IS NULL OR expires_at > NOW_MS)),
      targets AS (SELECT grp FROM g UNION ALL SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM g)),
      ins AS (
        INSERT INTO S.pf_queue_jobs (topic, grp, body, env_id, visible_at)
        SELECT $1, targets.grp, b.body, b.env_id, NOW_MS
        FROM unnest($2::bytea[], $4::text[]) WITH ORDINALITY AS b(body, env_id, ord) CROSS JOIN targets
        ORDER BY b.ord
        ON CONFLICT DO NOTHING
        RETURNING 1
      )
      SELECT pg_notify($3, $1) FROM (SELECT 1 FROM ins LIMIT 1) AS any_row`),
    /**
     * $1 topic, $2 group. Registers the group (ensureGroup) and adopts envelopes published before any
     * group existed (moved, so an id the group already has is dropped instead of violating the dedup index).
     */
    register: q(`
      WITH reg AS (INSERT INTO S.pf_queue_groups (topic, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING),
      moved AS (DELETE FROM S.pf_queue_jobs WHERE topic = $1 AND grp IS NULL RETURNING id, body, env_id, visible_at)
      INSERT INTO S.pf_queue_jobs (topic, grp, body, env_id, visible_at)
      SELECT $1, $2, body, env_id, visible_at FROM moved ORDER BY id
      ON CONFLICT DO NOTHING`),
    /** $1 topic, $2 group, $3 ttl ms. An ephemeral group: starts empty, lives while its TTL is renewed. */
    registerEphemeral: q(`
      INSERT INTO S.pf_queue_groups (topic, grp, expires_at) VALUES ($1, $2, NOW_MS + $3)
      ON CONFLICT (topic, grp) DO UPDATE SET expires_at = EXCLUDED.expires_at`),
    /** $1 topic, $2 group, $3 ttl ms. */
    renewEphemeral: q(`UPDATE S.pf_queue_groups SET expires_at = NOW_MS + $3 WHERE topic = $1 AND grp = $2`),
    /** $1 topic, $2 group. */
    dropGroup: q(`
      WITH j AS (DELETE FROM S.pf_queue_jobs WHERE topic = $1 AND grp = $2)
      DELETE FROM S.pf_queue_groups WHERE topic = $1 AND grp = $2`),
    /** Removes ephemeral groups whose process died (TTL passed) and what was queued for them. */
    sweepExpired: q(`
      WITH x AS (DELETE FROM S.pf_queue_groups WHERE expires_at < NOW_MS RETURNING topic, grp)
      DELETE FROM S.pf_queue_jobs AS j USING x WHERE j.topic = x.topic AND j.grp = x.grp`),
    /** Envelopes published while no group existed, on topics only ever consumed by ephemeral groups, have no reader to wait for. */
    sweepOrphans: q(`
      DELETE FROM S.pf_queue_jobs WHERE grp IS NULL AND topic IN (
        SELECT topic FROM S.pf_queue_groups GROUP BY topic HAVING bool_and(expires_at IS NOT NULL))`),
    /** $1 topic, $2 group, $3 consumer, $4 limit, $5 lease ms. Visible rows include those whose lease ran out. */
    claim: q(`
      UPDATE S.pf_queue_jobs AS j
      SET visible_at = NOW_MS + $5, locked_by = $3, deliveries = j.deliveries + 1,
          lease_token = md5(random()::text || j.id::text || clock_timestamp()::text)
      WHERE j.id IN (
        SELECT id FROM S.pf_queue_jobs
        WHERE topic = $1 AND grp = $2 AND visible_at <= NOW_MS
        ORDER BY id LIMIT $4
        FOR UPDATE SKIP LOCKED)
      RETURNING j.id::text AS id, j.body, j.deliveries, j.lease_token`),
    /** $1 bigint[] ids, $2 text[] tokens (pairwise). Returns the ids it deleted; the others were fenced. */
    ack: q(`
      DELETE FROM S.pf_queue_jobs AS j USING unnest($1::bigint[], $2::text[]) AS a(id, token)
      WHERE j.id = a.id AND j.lease_token = a.token
      RETURNING j.id::text AS id`),
    /** $1 id, $2 token, $3 lease ms. */
    extend: q(`UPDATE S.pf_queue_jobs SET visible_at = NOW_MS + $3 WHERE id = $1 AND lease_token = $2`),
    /** $1 id, $2 token, $3 delay ms, $4 code, $5 message. */
    retry: q(`
      UPDATE S.pf_queue_jobs SET visible_at = NOW_MS + $3, locked_by = NULL, lease_token = NULL, last_code = $4, last_message = $5
      WHERE id = $1 AND lease_token = $2`),
    /** $1 id, $2 token, $3 deliveries, $4 code, $5 message, $6 raw. One statement: the move is atomic. */
    deadLetter: q(`
      WITH d AS (DELETE FROM S.pf_queue_jobs WHERE id = $1 AND lease_token = $2 RETURNING topic, grp, body, env_id)
      INSERT INTO S.pf_queue_dead (topic, grp, body, env_id, deliveries, code, message, raw, dead_at)
      SELECT topic, coalesce(grp, ''), body, env_id, $3, $4, $5, $6, NOW_MS FROM d`),
    /** $1 topic, $2 limit. */
    listDead: q(`
      SELECT id::text AS id, grp, body, deliveries, code, message, raw, dead_at
      FROM S.pf_queue_dead WHERE topic = $1 ORDER BY id LIMIT $2`),
    /**
     * $1 topic, $2 id, $3 notify channel. Back to its group (if the group still exists) as a new row:
     * deliveries 0, so its next delivery is count 1. One row per dead letter found.
     */
    retryDead: q(`
      WITH d AS (
        DELETE FROM S.pf_queue_dead AS x WHERE x.topic = $1 AND x.id = $2
          AND EXISTS (SELECT 1 FROM S.pf_queue_groups g WHERE g.topic = x.topic AND g.grp = x.grp)
        RETURNING x.topic, x.grp, x.body, x.env_id),
      ins AS (
        INSERT INTO S.pf_queue_jobs (topic, grp, body, env_id, visible_at)
        SELECT topic, grp, body, env_id, NOW_MS FROM d
        ON CONFLICT DO NOTHING
      )
      SELECT pg_notify($3, $1) FROM d`),
    /** $1 topic, $2 bigint[] ids or null (all). */
    purgeDead: q(`DELETE FROM S.pf_queue_dead WHERE topic = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))`),
  };
}

export type QueueSql = ReturnType<typeof queueSql>;
