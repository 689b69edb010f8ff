-- Job templates (reusable presets) and schedules (recurring job creation).

-- A template named in a workspace, or shared with every workspace (workspace_id '').
CREATE TABLE job_templates (
  id                  uuid PRIMARY KEY,
  workspace_id        text NOT NULL,  -- '' = shared
  name                text NOT NULL,
  -- description, type, payload, priority, retry policy, timeout, ttl, labels, payload schema:
  -- read and written whole, never filtered on.
  body                jsonb NOT NULL,
  create_time         timestamptz NOT NULL,
  update_time         timestamptz NOT NULL,
  UNIQUE (workspace_id, name)
);

CREATE TABLE schedules (
  id                  uuid PRIMARY KEY,
  workspace_id        text NOT NULL,
  name                text NOT NULL,
  spec                jsonb NOT NULL,  -- crons, intervals, zone, start/end, jitter
  job                 jsonb NOT NULL,  -- what each run creates
  overlap_policy      text NOT NULL,
  catchup_window_us   bigint NOT NULL,
  paused              boolean NOT NULL DEFAULT false,
  pause_note          text NOT NULL DEFAULT '',
  -- The next nominal run not yet handled, and when it is due (with its jitter, or later
  -- while the workspace's quota refuses it). NULL: no more runs.
  next_run_time       timestamptz,
  next_fire_time      timestamptz,
  -- BUFFER_ONE: the run waiting for the active job (next_fire_time then comes back to it
  -- every second or so until that job has finished).
  buffered_run_time   timestamptz,
  last_run_time       timestamptz,
  last_job_id         uuid,
  runs_fired          bigint NOT NULL DEFAULT 0,
  runs_skipped        bigint NOT NULL DEFAULT 0,
  last_skip_reason    text NOT NULL DEFAULT '',
  -- Bumped by every write: a run is created only in a transaction that finds the version it
  -- read (so replicas racing on one run make it once, whatever became of its job).
  version             bigint NOT NULL DEFAULT 0,
  created_by          text NOT NULL,
  create_time         timestamptz NOT NULL,
  update_time         timestamptz NOT NULL,
  UNIQUE (workspace_id, name)
);

-- What every replica's scheduler asks each time it wakes: the runs now due.
CREATE INDEX schedules_due ON schedules (next_fire_time) WHERE NOT paused;
