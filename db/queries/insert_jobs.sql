-- Inserts a batch of jobs and their CREATED events (sequence 1) in one statement: one round
-- trip and one commit for a whole group-commit batch. Each parameter is an array with one
-- element per job. Jobs whose idempotency key is already taken (also by an earlier job of the
-- same batch) are skipped and not returned; the caller fetches the holders. A QUEUED job is
-- ready at once on the database's clock too: its run_after is at most now() (jobd's estimate
-- of the database's time may be a few milliseconds ahead).
WITH input AS (
  SELECT * FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::job_state[], $5::integer[], $6::json[],
    $7::text[], $8::integer[], $9::bigint[], $10::bigint[], $11::double precision[],
    $12::bigint[], $13::bigint[], $14::jsonb[], $15::text[], $16::text[], $17::timestamptz[],
    $18::timestamptz[])
    WITH ORDINALITY AS t(id, workspace_id, type, state, priority, payload, requested_by,
                         max_attempts, initial_backoff_us, max_backoff_us, backoff_multiplier,
                         timeout_us, ttl_us, labels, idempotency_key, request_fingerprint,
                         create_time, run_after, position)
), inserted AS (
  INSERT INTO jobs (
    id, workspace_id, type, state, priority, payload, requested_by, attempt, last_attempt,
    max_attempts, initial_backoff_us, max_backoff_us, backoff_multiplier, timeout_us, ttl_us,
    labels, idempotency_key, request_fingerprint, create_time, update_time, run_after, sequence)
  SELECT id, workspace_id, type, state, priority, payload, requested_by, 1, max_attempts,
         max_attempts, initial_backoff_us, max_backoff_us, backoff_multiplier, timeout_us, ttl_us,
         labels, idempotency_key, request_fingerprint, create_time, create_time,
         CASE WHEN state = 'queued' THEN least(run_after, now()) ELSE run_after END, 1
  FROM input ORDER BY position
  ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING *
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id)
  SELECT id, sequence, create_time, 'created', state, attempt, progress_percent,
         progress_message, error_message, worker_id
  FROM inserted
)
SELECT * FROM inserted
