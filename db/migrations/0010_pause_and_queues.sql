-- Pausing jobs and queues, queue limits, and a count limit on finished jobs.
--
-- A new job state. (PostgreSQL does not let this migration's own transaction use the value:
-- nothing below does.)
ALTER TYPE job_state ADD VALUE 'paused';

-- Settings of a queue (a workspace's jobs of one type). No row: not paused, no limits.
CREATE TABLE job_queues (
  workspace_id          text NOT NULL,
  type                  text NOT NULL,
  paused                boolean NOT NULL DEFAULT false,
  -- At most this many RUNNING at once; NULL: no limit.
  max_running           integer,
  -- A token bucket of `burst` tokens refilled at this rate; NULL: no limit.
  max_starts_per_second double precision,
  burst                 integer NOT NULL DEFAULT 1,
  -- The bucket as of tokens_time (the database's clock).
  tokens                double precision NOT NULL DEFAULT 0,
  tokens_time           timestamptz NOT NULL DEFAULT now(),
  update_time           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, type),
  CHECK (max_running IS NULL OR max_running >= 1),
  CHECK (max_starts_per_second IS NULL OR max_starts_per_second > 0),
  CHECK (burst >= 1)
);

-- Retention by count: a workspace's finished jobs, oldest finish first.
CREATE INDEX jobs_finished ON jobs (workspace_id, finish_time, id) WHERE expire_time IS NOT NULL;
