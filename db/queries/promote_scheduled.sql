-- SCHEDULED jobs whose run_after has passed become QUEUED, each with its event.
-- Due on the database's clock. $1 limit. Returns the promoted jobs (to wake their workers).
WITH due AS (
  SELECT id FROM jobs WHERE state = 'scheduled' AND run_after <= now()
  ORDER BY run_after LIMIT $1
  FOR UPDATE SKIP LOCKED
), promoted AS (
  UPDATE jobs AS j SET state = 'queued', update_time = now(), sequence = j.sequence + 1
  FROM due WHERE j.id = due.id
  RETURNING j.*
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id)
  SELECT id, sequence, update_time, 'state_changed', state, attempt, progress_percent,
         progress_message, error_message, worker_id
  FROM promoted
)
SELECT * FROM promoted
