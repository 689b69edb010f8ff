-- Appends a MESSAGE event ($2 level, $3 text) to a job, taking the next sequence.
WITH bumped AS (
  UPDATE jobs SET sequence = sequence + 1, message_count = message_count + 1 WHERE id = $1
  RETURNING *
), event AS (
  INSERT INTO job_events (job_id, sequence, time, kind, state, attempt, progress_percent,
                          progress_message, error_message, worker_id, message_level, message_text)
  SELECT id, sequence, update_time, 'message', state, attempt, progress_percent,
         progress_message, error_message, worker_id, $2, $3
  FROM bumped
)
SELECT * FROM bumped
