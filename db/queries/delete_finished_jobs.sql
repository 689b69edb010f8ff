-- Deletes the finished jobs among $2 of workspace $1, with their events; returns their ids.
-- A job retried meanwhile (active again once its lock is released) is left alone.
WITH gone AS (
  DELETE FROM jobs
  WHERE workspace_id = $1 AND id = ANY($2::uuid[])
    AND state IN ('succeeded', 'failed', 'cancelled')
  RETURNING id
), events AS (
  DELETE FROM job_events AS e USING gone WHERE e.job_id = gone.id
)
SELECT id FROM gone
