-- Locks the rows of the queues among $2 (types of workspace $1) that have limits and are not
-- paused, in type order (so acquirers cannot deadlock), until the transaction ends; returns
-- their types. acquire_jobs.sql ($6 = true) then serves them within their limits.
SELECT type FROM job_queues
WHERE workspace_id = $1 AND type = ANY($2::text[]) AND NOT paused
  AND (max_running IS NOT NULL OR max_starts_per_second IS NOT NULL)
ORDER BY type
FOR UPDATE
