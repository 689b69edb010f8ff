-- As list_jobs, restricted to one type ($6); $7 and $8 are list_jobs' $6 and $7.
SELECT * FROM (
  SELECT id, workspace_id, type, state, priority,
    CASE WHEN $7::boolean THEN payload END AS payload, CASE WHEN $7::boolean THEN result END AS result,
    error_message, requested_by, attempt, last_attempt, max_attempts, initial_backoff_us,
    max_backoff_us, backoff_multiplier, timeout_us, ttl_us, labels, idempotency_key,
    request_fingerprint, progress_percent, progress_message, worker_id, lease_token,
    lease_expire_time, lease_duration_us, attempt_deadline, create_time, update_time,
    start_time, finish_time, run_after, expire_time, sequence,
    coalesce(sum(CASE WHEN $7::boolean THEN octet_length(payload::text) + coalesce(octet_length(result::text), 0)
                      ELSE 0 END)
               OVER (ORDER BY id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
      AS body_bytes_before,
    row_number() OVER (ORDER BY id DESC) AS position
  FROM (
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
  ) AS candidates
) AS sized
-- The second row always comes: after a first job alone past the budget, it says more follow.
WHERE $8::bigint = 0 OR body_bytes_before <= $8::bigint OR position <= 2
ORDER BY id DESC
