-- jobd schema 1: jobs and their events.
-- Times are timestamptz; durations are bigint microseconds (they map 1:1 to protobuf Durations).

CREATE TYPE job_state AS ENUM ('scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled');
CREATE TYPE job_event_kind AS ENUM ('created', 'state_changed', 'progress', 'message');
CREATE TYPE message_level AS ENUM ('info', 'warning', 'error');

CREATE TABLE jobs (
  -- UUIDv7: time-ordered, so "newest first" is "id descending" and keyset pages need one column.
  id                  uuid PRIMARY KEY,
  workspace_id        text NOT NULL,
  type                text NOT NULL,
  state               job_state NOT NULL,
  priority            integer NOT NULL DEFAULT 0,
  -- json, not jsonb: kept verbatim (key order, \u0000 escapes); never queried into.
  payload             json NOT NULL,
  result              json,
  error_message       text NOT NULL DEFAULT '',
  requested_by        text NOT NULL,
  attempt             integer NOT NULL,
  -- The last attempt the retry budget allows; RetryJob grants a fresh budget.
  last_attempt        integer NOT NULL,
  max_attempts        integer NOT NULL,
  initial_backoff_us  bigint NOT NULL,
  max_backoff_us      bigint NOT NULL,
  backoff_multiplier  double precision NOT NULL,
  timeout_us          bigint,
  ttl_us              bigint NOT NULL,
  labels              jsonb NOT NULL DEFAULT '{}',
  idempotency_key     text,
  -- Hash of the creating request: a repeat with the same key must match it.
  request_fingerprint text,
  progress_percent    real NOT NULL DEFAULT 0,
  progress_message    text NOT NULL DEFAULT '',
  worker_id           text NOT NULL DEFAULT '',
  lease_token         uuid,
  lease_expire_time   timestamptz,
  create_time         timestamptz NOT NULL,
  update_time         timestamptz NOT NULL,
  start_time          timestamptz,
  finish_time         timestamptz,
  run_after           timestamptz NOT NULL,
  expire_time         timestamptz,
  -- Sequence of the job's latest event.
  sequence            bigint NOT NULL,
  CHECK (progress_percent >= 0 AND progress_percent <= 100),
  CHECK (attempt >= 1 AND sequence >= 1)
);

-- At most one job per (workspace, idempotency key); also what CreateJob's ON CONFLICT targets.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (workspace_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- ListJobs reads one range per requested state, newest first, and merges them.
CREATE INDEX jobs_list_by_state ON jobs (workspace_id, state, id DESC);
CREATE INDEX jobs_list_by_type_state ON jobs (workspace_id, type, state, id DESC);
-- Retention: finished jobs past their expire_time.
CREATE INDEX jobs_expire_time ON jobs (expire_time) WHERE expire_time IS NOT NULL;

-- No foreign key to jobs: every event is written in the statement or transaction that
-- changes its job, and retention deletes a job's events with it. A key would cost a lookup
-- per event, and its cached check plan can stay a sequential scan once chosen on an empty
-- table.
CREATE TABLE job_events (
  job_id            uuid NOT NULL,
  sequence          bigint NOT NULL,
  time              timestamptz NOT NULL,
  kind              job_event_kind NOT NULL,
  -- The job's mutable fields after the event.
  state             job_state NOT NULL,
  attempt           integer NOT NULL,
  progress_percent  real NOT NULL,
  progress_message  text NOT NULL,
  error_message     text NOT NULL,
  worker_id         text NOT NULL,
  -- Set for kind = 'message'.
  message_level     message_level,
  message_text      text,
  PRIMARY KEY (job_id, sequence)
);

-- Which migrations have been applied; `jobd migrate` appends, `jobd serve` checks.
CREATE TABLE schema_version (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
