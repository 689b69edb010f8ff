INSERT INTO schedules (id, workspace_id, name, spec, job, overlap_policy, catchup_window_us,
                       paused, pause_note, next_run_time, next_fire_time, buffered_run_time,
                       last_run_time, last_job_id, runs_fired, runs_skipped, last_skip_reason,
                       created_by, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        now(), now())
RETURNING *
