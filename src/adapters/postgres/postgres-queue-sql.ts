/**
 * SQL of the PostgreSQL queue, one statement per operation. `S` is replaced
 * by the quoted schema, `NOW_MS` is the database clock in epoch ms (so
 * leases do not depend on the clocks of worker machines).
 */
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export function queueSql(schema: string) {
  const S = `"${schema.replace(/"/g, '""')}"`;
  const q = (text: string) => text.replace(/\bS\./g, `${S}.`).replace(/NOW_MS/g, NOW_MS);
  return {
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
    `),
    /** $1 topic, $2 bytea[] bodies, $3 notify channel. One row per group (or one orphan row when no group exists yet). */
    publish: q(`
      WITH g AS (SELECT grp, expires_at FROM S.pf_queue_groups WHERE topic = $1 AND (expires_at IS NULL OR expires_at > NOW_MS)),
      targets AS (SELECT grp FROM g UNION ALL SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM g)),
      ins AS (
        INSERT INTO S.pf_queue_jobs (topic, grp, body, visible_at)
        SELECT $1, targets.grp, b.body, NOW_MS
        FROM unnest($2::bytea[]) WITH ORDINALITY AS b(body, ord) CROSS JOIN targets
        ORDER BY b.ord
        RETURNING 1
      )
      SELECT pg_notify($3, $1) FROM (SELECT 1 FROM ins LIMIT 1) AS any_row`),
    /** $1 topic, $2 group. Registers the group and adopts envelopes published before any group existed. */
    register: q(`
      WITH reg AS (INSERT INTO S.pf_queue_groups (topic, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING)
      UPDATE S.pf_queue_jobs SET grp = $2 WHERE topic = $1 AND grp IS NULL`),
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
    /** $1 topic, $2 group, $3 consumer, $4 limit, $5 lease ms. */
    claim: q(`
      UPDATE S.pf_queue_jobs AS j
      SET visible_at = NOW_MS + $5, locked_by = $3, deliveries = j.deliveries + 1
      WHERE j.id IN (
        SELECT id FROM S.pf_queue_jobs
        WHERE topic = $1 AND grp = $2 AND visible_at <= NOW_MS
        ORDER BY id LIMIT $4
        FOR UPDATE SKIP LOCKED)
      RETURNING j.id::text AS id, j.body, j.deliveries, j.last_code, j.last_message`),
    /** $1 bigint[] ids. */
    ack: q(`DELETE FROM S.pf_queue_jobs WHERE id = ANY($1::bigint[])`),
    /** $1 id, $2 delay ms, $3 code, $4 message. */
    retry: q(`
      UPDATE S.pf_queue_jobs SET visible_at = NOW_MS + $2, locked_by = NULL, last_code = $3, last_message = $4
      WHERE id = $1`),
    /** $1 id, $2 deliveries, $3 code, $4 message, $5 raw. */
    deadLetter: q(`
      WITH d AS (DELETE FROM S.pf_queue_jobs WHERE id = $1 RETURNING topic, grp, body)
      INSERT INTO S.pf_queue_dead (topic, grp, body, deliveries, code, message, raw, dead_at)
      SELECT topic, coalesce(grp, ''), body, $2, $3, $4, $5, NOW_MS FROM d`),
    /** $1 topic, $2 limit. */
    listDead: q(`
      SELECT id::text AS id, grp, body, deliveries, code, message, raw, dead_at
      FROM S.pf_queue_dead WHERE topic = $1 ORDER BY id LIMIT $2`),
    /** $1 topic, $2 id, $3 notify channel. */
    retryDead: q(`
      WITH d AS (DELETE FROM S.pf_queue_dead WHERE topic = $1 AND id = $2 RETURNING topic, grp, body),
      ins AS (
        INSERT INTO S.pf_queue_jobs (topic, grp, body, visible_at)
        SELECT topic, grp, body, NOW_MS FROM d RETURNING topic
      )
      SELECT pg_notify($3, topic) FROM ins`),
  };
}

export type QueueSql = ReturnType<typeof queueSql>;
