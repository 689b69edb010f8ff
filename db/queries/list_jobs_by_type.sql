-- As list_jobs, restricted to one type ($6).
SELECT page.* FROM unnest($2::job_state[]) AS wanted(state)
CROSS JOIN LATERAL (
  SELECT * FROM jobs
  WHERE workspace_id = $1 AND type = $6 AND state = wanted.state AND labels @> $3::jsonb
    AND id < $4::uuid
  ORDER BY id DESC
  LIMIT $5
) AS page
ORDER BY page.id DESC
LIMIT $5
