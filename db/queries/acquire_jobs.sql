-- Leases up to $3 ready jobs of the given types in one statement: QUEUED, or SCHEDULED whose
-- run_after has passed; highest priority first, then longest waiting. SKIP LOCKED lets
-- concurrent acquirers take disjoint jobs. Each gets a fresh lease token (the fence of this
-- attempt) and a RUNNING event.
-- $1 workspace, $2 types, $3 limit, $4 worker id, $5 lease duration (us). Every time is
-- PostgreSQL's now(): leases and deadlines run on the database's clock, whatever the
-- replica's.
--
-- Per type, one ordered index range of QUEUED jobs (jobs_ready) and one of due SCHEDULED jobs
-- (jobs_due), each stopping at the limit, then merged. ("type = ANY" would make PostgreSQL
-- read and sort every ready job of the workspace.)
WITH queued AS (
  SELECT ready.* FROM unnest($2::text[]) AS wanted(type)
  CROSS JOIN LATERAL (
    SELECT id, priority, run_after FROM jobs
    WHERE workspace_id = $1 AND type = wanted.type AND state = 'queued'
      AND run_after <= now()
    ORDER BY priority DESC, run_after, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ) AS ready
), due AS (
  SELECT ready.* FROM unnest($2::text[]) AS wanted(type)
  CROSS JOIN LATERAL (
    SELECT id, priority, run_after FROM jobs
    WHERE workspace_id = $1 AND type = wanted.type AND state = 'scheduled'
      AND run_after <= now()
    ORDER BY run_after
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ) AS ready
), picked AS (
  SELECT id FROM (SELECT * FROM queued UNION ALL SELECT * FROM due) AS candidate
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
)
SELECT * FROM leased ORDER BY priority DESC, run_after, id
