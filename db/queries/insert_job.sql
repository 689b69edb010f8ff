-- Inserts a job and its CREATED event (sequence 1) in one statement.
-- Returns no row when the workspace already has a job with this idempotency key.
WITH inserted AS (
  INSERT INTO jobs (
    id, workspace_id, type, state, priority, payload, requested_by, attempt, last_attempt,
    max_attempts, initial_backoff_us, max_backoff_us, backoff_multiplier, timeout_us, ttl_us,
    labels, idempotency_key, request_fingerprint, create_time, update_time, run_after, sequence)
  VALUES (
    $1, $2, $3, $4, $5, $6, $7, 1, $8,
    $8, $9, $10, $11, $12, $13,
    $14, $15, $16, $17, $17, $18, 1)
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
