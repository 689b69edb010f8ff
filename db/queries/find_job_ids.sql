-- Ids of workspace $1's jobs in states $2 matching the filter, with $8 < id <= $9, in id
-- order, at most $10. $3 type ('' any), $4 labels that must all match (jsonb), $5
-- created_before and $6 created_after (NULL: none), $7 ids (NULL: any). One index range per
-- state (jobs_list_by_state), merged.
SELECT page.id FROM unnest($2::job_state[]) AS wanted(state)
CROSS JOIN LATERAL (
  SELECT id FROM jobs
  WHERE workspace_id = $1 AND state = wanted.state AND id > $8::uuid AND id <= $9::uuid
    AND ($3::text = '' OR type = $3::text) AND labels @> $4::jsonb
    AND ($5::timestamptz IS NULL OR create_time < $5::timestamptz)
    AND ($6::timestamptz IS NULL OR create_time >= $6::timestamptz)
    AND ($7::uuid[] IS NULL OR id = ANY($7::uuid[]))
  ORDER BY id
  LIMIT $10
) AS page
ORDER BY page.id
LIMIT $10
