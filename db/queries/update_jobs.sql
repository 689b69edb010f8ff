-- Writes a batch of job changes in one statement: each job's mutable fields and, when
-- event_kind is set, the event of that change. Each parameter is an array, one element per
-- job; read_sequence is the sequence the change was decided on (a mismatch writes nothing).
-- A change that replaces_latest deletes the job's latest event (a progress event folded into
-- this one, which carries fold_count). A NULL checkpoint, or one equal to the stored one,
-- keeps the stored one.
WITH input AS (
  SELECT * FROM unnest(
    $1::uuid[], $2::bigint[], $3::job_state[], $4::integer[], $5::integer[], $6::real[],
    $7::text[], $8::json[], $9::text[], $10::text[], $11::uuid[], $12::timestamptz[],
    $13::bigint[], $14::timestamptz[], $15::timestamptz[], $16::timestamptz[],
    $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::job_event_kind[],
    $21::integer[], $22::bigint[], $23::integer[], $24::boolean[], $25::jsonb[])
    AS t(id, read_sequence, state, attempt, last_attempt, progress_percent, progress_message,
         result, error_message, worker_id, lease_token, lease_expire_time, lease_duration_us,
         update_time, start_time, finish_time, run_after, expire_time, attempt_deadline,
         event_kind, attempt_progress_events, fold_sequence, fold_count, replaces_latest,
         checkpoint)
), updated AS (
  UPDATE jobs AS j SET
    state = i.state, attempt = i.attempt, last_attempt = i.last_attempt,
    progress_percent = i.progress_percent, progress_message = i.progress_message,
    result = i.result, error_message = i.error_message, worker_id = i.worker_id,
    lease_token = i.lease_token, lease_expire_time = i.lease_expire_time,
    lease_duration_us = i.lease_duration_us, update_time = i.update_time,
    start_time = i.start_time, finish_time = i.finish_time, run_after = i.run_after,
    expire_time = i.expire_time, attempt_deadline = i.attempt_deadline,
    attempt_progress_events = i.attempt_progress_events, fold_sequence = i.fold_sequence,
    fold_count = i.fold_count,
    -- NULL or equal (as jsonb, whatever its formatting): the stored one stays, TOAST and all.
    checkpoint = CASE WHEN i.checkpoint IS NULL OR i.checkpoint = j.checkpoint THEN j.checkpoint
                      ELSE i.checkpoint END,
    sequence = j.sequence + CASE WHEN i.event_kind IS NULL THEN 0 ELSE 1 END
  FROM input AS i
  WHERE j.id = i.id AND j.sequence = i.read_sequence
  RETURNING j.*, i.event_kind, i.replaces_latest
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id, folded)
  SELECT id, sequence, update_time, event_kind, state, attempt, progress_percent,
         progress_message, error_message, worker_id,
         CASE WHEN fold_sequence = sequence THEN fold_count ELSE 0 END
  FROM updated WHERE event_kind IS NOT NULL
), folded AS (
  DELETE FROM job_events AS e USING updated AS u
  WHERE u.replaces_latest AND u.event_kind = 'progress' AND e.job_id = u.id
    AND e.sequence = u.sequence - 1 AND e.kind = 'progress'
)
SELECT * FROM updated
