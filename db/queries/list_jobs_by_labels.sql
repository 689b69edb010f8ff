-- As list_jobs when labels are given ($3, never '{}'): the jobs_labels index finds the jobs
-- that carry them, however few among many; $6 the type, or NULL for any.
SELECT * FROM jobs
WHERE workspace_id = $1 AND state = ANY ($2::job_state[]) AND labels @> $3::jsonb
  AND labels <> '{}'::jsonb AND ($6::text IS NULL OR type = $6) AND id < $4::uuid
ORDER BY id DESC
LIMIT $5
