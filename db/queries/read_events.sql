-- Events of the given jobs in sequence ranges (after_sequence, last_sequence], oldest first
-- per job, at most $4, each with the job's state before it (null when that event is gone).
-- $1 job ids, $2 after_sequence per job, $3 last_sequence per job. One index range per job.
SELECT e.*, previous.state AS previous_state
FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(job_id, after_sequence, last_sequence)
JOIN job_events AS e
  ON e.job_id = r.job_id AND e.sequence > r.after_sequence AND e.sequence <= r.last_sequence
LEFT JOIN job_events AS previous
  ON previous.job_id = e.job_id AND previous.sequence = e.sequence - 1
ORDER BY e.job_id, e.sequence
LIMIT $4
