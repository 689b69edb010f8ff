-- Deletes the jobs among $2 of workspace $1 in states $3 (finished ones only), with their
-- events; returns their ids. A job that changed state meanwhile (retried, say) is left alone.
WITH gone AS (
  DELETE FROM jobs
  WHERE workspace_id = $1 AND id = ANY($2::uuid[])
    AND state = ANY($3::job_state[]) AND state IN ('succeeded', 'failed', 'cancelled')
  RETURNING id
), events AS (
  DELETE FROM job_events AS e USING gone WHERE e.job_id = gone.id
)
SELECT id FROM gone
