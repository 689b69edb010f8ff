-- Job counts per (workspace, type, state) of every workspace, with each queue's oldest QUEUED
-- job's run_after, at most $1 rows: for metrics, read once per refresh (one scan of jobs),
-- never per scrape.
SELECT c.workspace_id, c.type, c.state::text AS state, c.n, o.since
FROM (SELECT workspace_id, type, state, count(*) AS n FROM jobs GROUP BY 1, 2, 3) AS c
LEFT JOIN (SELECT workspace_id, type, min(run_after) AS since FROM jobs
           WHERE state = 'queued' GROUP BY 1, 2) AS o USING (workspace_id, type)
ORDER BY 1, 2, 3
LIMIT $1
