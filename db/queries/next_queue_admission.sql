-- When a limited queue among $2 (types of workspace $1) holding QUEUED jobs may next start
-- one: its bucket's next token, or 100 ms on while it is at max_running (a backstop: jobs
-- leaving RUNNING on another replica do not wake this one's workers); never sooner than
-- 5 ms. NULL when there is no such queue. The database's clock.
SELECT min(greatest(
         CASE WHEN q.max_starts_per_second IS NULL OR q.tokens >= 1 THEN statement_timestamp()
              ELSE q.tokens_time + ((1 - q.tokens) / q.max_starts_per_second) * interval '1 second'
         END,
         CASE WHEN q.max_running IS NOT NULL
                   AND (SELECT count(*) FROM jobs AS r
                        WHERE r.workspace_id = $1 AND r.type = q.type AND r.state = 'running')
                       >= q.max_running
              THEN statement_timestamp() + interval '100 milliseconds'
              ELSE statement_timestamp() END,
         statement_timestamp() + interval '5 milliseconds'))
FROM job_queues AS q
WHERE q.workspace_id = $1 AND q.type = ANY($2::text[]) AND NOT q.paused
  AND (q.max_running IS NOT NULL OR q.max_starts_per_second IS NOT NULL)
  AND EXISTS (SELECT 1 FROM jobs AS j
              WHERE j.workspace_id = $1 AND j.type = q.type AND j.state = 'queued')
