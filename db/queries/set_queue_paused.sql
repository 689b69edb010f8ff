-- Pauses ($3 true) or resumes queue ($1 workspace, $2 type); its limits stay.
INSERT INTO job_queues AS q (workspace_id, type, paused, update_time) VALUES ($1, $2, $3, now())
ON CONFLICT (workspace_id, type) DO UPDATE SET paused = $3, update_time = now()
RETURNING q.workspace_id, q.type, q.paused, q.max_running, q.max_starts_per_second, q.burst,
          q.update_time
