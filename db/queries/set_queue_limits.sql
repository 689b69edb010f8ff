-- Replaces queue ($1 workspace, $2 type)'s limits: $3 max_running, $4 max_starts_per_second
-- (NULL: none), $5 burst; the bucket starts full. The paused flag stays.
INSERT INTO job_queues AS q (workspace_id, type, max_running, max_starts_per_second, burst,
                             tokens, tokens_time, update_time)
VALUES ($1, $2, $3::integer, $4::double precision, $5::integer, $5::integer, statement_timestamp(), now())
ON CONFLICT (workspace_id, type) DO UPDATE SET
  max_running = $3::integer, max_starts_per_second = $4::double precision, burst = $5::integer,
  tokens = $5::integer,
  tokens_time = statement_timestamp(), update_time = now()
RETURNING q.workspace_id, q.type, q.paused, q.max_running, q.max_starts_per_second, q.burst,
          q.update_time
