-- Writes a job's mutable fields and appends the event of that change ($18 kind), in one
-- statement. $2 is the sequence the caller read: a concurrent writer makes this update no row.
WITH updated AS (
  UPDATE jobs SET
    state = $3, attempt = $4, last_attempt = $5, progress_percent = $6, progress_message = $7,
    result = $8, error_message = $9, worker_id = $10, lease_token = $11, lease_expire_time = $12,
    update_time = $13, start_time = $14, finish_time = $15, run_after = $16, expire_time = $17,
    attempt_deadline = $19, sequence = sequence + 1
  WHERE id = $1 AND sequence = $2
  RETURNING *
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id)
  SELECT id, sequence, update_time, $18, state, attempt, progress_percent,
         progress_message, error_message, worker_id
  FROM updated
)
SELECT * FROM updated
