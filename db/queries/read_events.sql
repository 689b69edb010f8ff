-- Events of the given jobs in sequence ranges (after_sequence, last_sequence], oldest first
-- per job, at most $4, each with the job's state before it (null when that event is gone).
-- $1 job ids, $2 after_sequence per job, $3 last_sequence per job. Per job one primary-key
-- range that stops at the limit, so a page of a long history reads only that page.
SELECT e.*, previous.state AS previous_state
FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(job_id, after_sequence, last_sequence)
CROSS JOIN LATERAL (
  SELECT * FROM job_events AS j
  WHERE j.job_id = r.job_id AND j.sequence > r.after_sequence AND j.sequence <= r.last_sequence
  ORDER BY j.sequence
  LIMIT $4
) AS e
LEFT JOIN job_events AS previous
  ON previous.job_id = e.job_id AND previous.sequence = e.sequence - e.folded - 1
ORDER BY e.job_id, e.sequence
LIMIT $4
