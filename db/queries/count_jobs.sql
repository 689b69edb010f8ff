-- How many jobs find_job_ids.sql would return in all, with id <= $8 ($1..$7 as there).
SELECT coalesce(sum(per_state.n), 0)::bigint FROM unnest($2::job_state[]) AS wanted(state)
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM jobs
  WHERE workspace_id = $1 AND state = wanted.state AND id <= $8::uuid
    AND ($3::text = '' OR type = $3::text) AND labels @> $4::jsonb
    AND ($5::timestamptz IS NULL OR create_time < $5::timestamptz)
    AND ($6::timestamptz IS NULL OR create_time >= $6::timestamptz)
    AND ($7::uuid[] IS NULL OR id = ANY($7::uuid[]))
) AS per_state
