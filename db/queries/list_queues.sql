-- The queues of workspace $1 that have jobs or settings, by type, at most $2: settings,
-- job counts per state (a JSON object) and the oldest QUEUED job's run_after.
WITH counts AS (
  SELECT type, state, count(*) AS n FROM jobs WHERE workspace_id = $1 GROUP BY type, state
), oldest AS (
  SELECT type, min(run_after) AS since FROM jobs
  WHERE workspace_id = $1 AND state = 'queued' GROUP BY type
), types AS (
  SELECT type FROM counts UNION SELECT type FROM job_queues WHERE workspace_id = $1
)
SELECT $1::text AS workspace_id, t.type, coalesce(q.paused, false) AS paused, q.max_running, q.max_starts_per_second,
       coalesce(q.burst, 1) AS burst, q.update_time,
       (SELECT coalesce(jsonb_object_agg(c.state, c.n), '{}') FROM counts AS c
        WHERE c.type = t.type) AS counts,
       o.since AS oldest_queued_since
FROM types AS t
LEFT JOIN job_queues AS q ON q.workspace_id = $1 AND q.type = t.type
LEFT JOIN oldest AS o ON o.type = t.type
ORDER BY t.type
LIMIT $2
