-- Like update_job, without an event: a heartbeat that only renews the lease.
UPDATE jobs SET
  state = $3, attempt = $4, last_attempt = $5, progress_percent = $6, progress_message = $7,
  result = $8, error_message = $9, worker_id = $10, lease_token = $11, lease_expire_time = $12,
  update_time = $13, start_time = $14, finish_time = $15, run_after = $16, expire_time = $17,
  attempt_deadline = $18
WHERE id = $1 AND sequence = $2
RETURNING *
