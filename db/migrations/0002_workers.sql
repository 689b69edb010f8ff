-- jobd schema 2: leases for workers.

-- The lease length the worker asked for, so each ReportProgress renews by as much.
ALTER TABLE jobs ADD COLUMN lease_duration_us bigint;
-- start_time + timeout of the current attempt; leases never run past it, so one expiry
-- index serves both lost workers and timeouts.
ALTER TABLE jobs ADD COLUMN attempt_deadline timestamptz;

-- AcquireJobs: QUEUED jobs of a type, highest priority first, then longest waiting.
CREATE INDEX jobs_ready ON jobs (workspace_id, type, priority DESC, run_after, id)
  WHERE state = 'queued';
-- AcquireJobs also takes SCHEDULED jobs that are due, earliest first; run_after leads so that
-- the not-yet-due ones are never read.
CREATE INDEX jobs_due ON jobs (workspace_id, type, run_after) WHERE state = 'scheduled';
-- The lease reaper.
CREATE INDEX jobs_lease_expiry ON jobs (lease_expire_time) WHERE state = 'running';
-- Promotion of SCHEDULED jobs whose run_after has passed.
CREATE INDEX jobs_scheduled_run_after ON jobs (run_after) WHERE state = 'scheduled';
