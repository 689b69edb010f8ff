-- Leases up to $3 ready jobs of the given types in one statement: QUEUED, or SCHEDULED whose
-- run_after has passed; highest priority first, then longest waiting. SKIP LOCKED lets
-- concurrent acquirers take disjoint jobs. Each gets a fresh lease token (the fence of this
-- attempt) and a RUNNING event.
-- $1 workspace, $2 types, $3 limit, $4 worker id, $5 lease duration (us), $6 which queues:
-- false those without limits, true those with (whose job_queues rows this transaction has
-- locked, lock_limited_queues.sql, so that this statement's snapshot, taken after the lock,
-- counts every RUNNING job and spent token: the limits then hold across replicas). Paused
-- queues are never served. $7 bytes: the jobs leased stop at the first whose payload and
-- checkpoint, as stored, take the total past it (the first job is always leased); 0 for no
-- bound. Stored sizes are cheap (pg_column_size reads no TOAST) but compressed, so the caller
-- still checks the answer it builds. Every time is PostgreSQL's: leases and deadlines run on the
-- database's clock, whatever the replica's.
--
-- Per type, one ordered index range of QUEUED jobs (jobs_ready) and one of due SCHEDULED jobs
-- (jobs_due), each stopping at the type's room, then merged. ("type = ANY" would make
-- PostgreSQL read and sort every ready job of the workspace.)
WITH wanted AS (
  SELECT t.type, q.max_starts_per_second,
    least($3::integer,
          CASE WHEN q.max_running IS NULL THEN $3::integer
               ELSE q.max_running - (SELECT count(*) FROM jobs AS r
                                     WHERE r.workspace_id = $1 AND r.type = t.type
                                       AND r.state = 'running')::integer END,
          CASE WHEN q.max_starts_per_second IS NULL THEN $3::integer
               ELSE floor(least(q.burst, q.tokens + q.max_starts_per_second *
                     greatest(0, extract(epoch FROM statement_timestamp() - q.tokens_time))))::integer
          END) AS room,
    CASE WHEN q.max_starts_per_second IS NOT NULL
         THEN least(q.burst, q.tokens + q.max_starts_per_second *
                    greatest(0, extract(epoch FROM statement_timestamp() - q.tokens_time)))
    END AS tokens
  FROM unnest($2::text[]) AS t(type)
  LEFT JOIN job_queues AS q ON q.workspace_id = $1 AND q.type = t.type
  WHERE NOT coalesce(q.paused, false)
    AND (q.max_running IS NOT NULL OR q.max_starts_per_second IS NOT NULL) = $6::boolean
), queued AS (
  SELECT ready.* FROM wanted
  CROSS JOIN LATERAL (
    SELECT id, type, priority, run_after,
      pg_column_size(payload) + coalesce(pg_column_size(checkpoint), 0) AS bytes FROM jobs
    WHERE workspace_id = $1 AND type = wanted.type AND state = 'queued'
      AND run_after <= now()
    ORDER BY priority DESC, run_after, id
    LIMIT greatest(wanted.room, 0)
    FOR UPDATE SKIP LOCKED
  ) AS ready
), due AS (
  SELECT ready.* FROM wanted
  CROSS JOIN LATERAL (
    SELECT id, type, priority, run_after,
      pg_column_size(payload) + coalesce(pg_column_size(checkpoint), 0) AS bytes FROM jobs
    WHERE workspace_id = $1 AND type = wanted.type AND state = 'scheduled'
      AND run_after <= now()
    ORDER BY run_after
    LIMIT greatest(wanted.room, 0)
    FOR UPDATE SKIP LOCKED
  ) AS ready
), ranked AS (
  SELECT candidate.*,
    row_number() OVER (PARTITION BY candidate.type
                       ORDER BY candidate.priority DESC, candidate.run_after, candidate.id) AS rank
  FROM (SELECT * FROM queued UNION ALL SELECT * FROM due) AS candidate
), admitted AS (
  SELECT ranked.id, ranked.priority, ranked.run_after,
    row_number() OVER byorder AS n, sum(ranked.bytes) OVER byorder AS total_bytes
  FROM ranked JOIN wanted USING (type)
  WHERE ranked.rank <= wanted.room
  WINDOW byorder AS (ORDER BY ranked.priority DESC, ranked.run_after, ranked.id)
), picked AS (
  SELECT id FROM admitted
  WHERE n = 1 OR $7::bigint = 0 OR total_bytes <= $7::bigint
  ORDER BY priority DESC, run_after, id
  LIMIT $3
), leased AS (
  UPDATE jobs AS j SET
    state = 'running',
    worker_id = $4,
    lease_token = gen_random_uuid(),
    lease_duration_us = $5::bigint,
    attempt_deadline = now() + j.timeout_us * interval '1 microsecond',
    lease_expire_time = least(now() + $5::bigint * interval '1 microsecond',
                              now() + j.timeout_us * interval '1 microsecond'),
    start_time = now(),
    update_time = now(),
    attempt_progress_events = 0,
    sequence = j.sequence + 1
  FROM picked
  WHERE j.id = picked.id
  RETURNING j.*
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id)
  SELECT id, sequence, update_time, 'state_changed', state, attempt, progress_percent,
         progress_message, error_message, worker_id
  FROM leased
), spent AS (
  -- Rate-limited queues: the bucket as of this statement, less what it started.
  UPDATE job_queues AS q SET
    tokens = wanted.tokens - (SELECT count(*) FROM leased WHERE leased.type = wanted.type),
    tokens_time = statement_timestamp()
  FROM wanted
  WHERE q.workspace_id = $1 AND q.type = wanted.type AND wanted.tokens IS NOT NULL
)
SELECT * FROM leased ORDER BY priority DESC, run_after, id
