-- A page of a workspace's jobs, newest first: one index range per state, merged.
-- $2 states, $3 labels that must all match (jsonb), $4 the last id of the previous page
-- (the largest UUID on the first page, so the range condition always uses the index).
SELECT page.* FROM unnest($2::job_state[]) AS wanted(state)
CROSS JOIN LATERAL (
  SELECT * FROM jobs
  WHERE workspace_id = $1 AND state = wanted.state AND labels @> $3::jsonb
    AND id < $4::uuid
  ORDER BY id DESC
  LIMIT $5
) AS page
ORDER BY page.id DESC
LIMIT $5
