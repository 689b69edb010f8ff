-- Retention by count: deletes the oldest finished jobs (by finish_time, then id) of every
-- workspace with more than $1, at most $2 in all, with their events; returns how many.
WITH over AS (
  SELECT workspace_id, count(*) - $1::bigint AS excess FROM jobs
  WHERE expire_time IS NOT NULL
  GROUP BY workspace_id
  HAVING count(*) > $1::bigint
), doomed AS (
  SELECT victim.id FROM over
  CROSS JOIN LATERAL (
    SELECT id FROM jobs
    WHERE workspace_id = over.workspace_id AND expire_time IS NOT NULL
    ORDER BY finish_time, id
    LIMIT least(over.excess, $2::bigint)
  ) AS victim
  LIMIT $2
), gone AS (
  DELETE FROM jobs USING doomed
  WHERE jobs.id = doomed.id AND jobs.expire_time IS NOT NULL
  RETURNING jobs.id
), events AS (
  DELETE FROM job_events AS e USING gone WHERE e.job_id = gone.id
)
SELECT count(*) FROM gone
