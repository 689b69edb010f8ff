UPDATE schedules
   SET name = $2, spec = $3, job = $4, overlap_policy = $5, catchup_window_us = $6,
       paused = $7, pause_note = $8, next_run_time = $9, next_fire_time = $10,
       buffered_run_time = $11, last_run_time = $12, last_job_id = $13, runs_fired = $14,
       runs_skipped = $15, last_skip_reason = $16, update_time = now(), version = version + 1
 WHERE id = $1
RETURNING *
