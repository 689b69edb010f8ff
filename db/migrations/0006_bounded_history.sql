-- Bounded history. Past a limit, a progress event of an attempt replaces the one before it
-- when that one is the job's latest event (it is deleted; the new one counts what it folds),
-- and messages past a per-job limit are dropped after one final notice.
-- Counts start at 0 for the jobs of an upgraded database.
ALTER TABLE jobs
  ADD COLUMN attempt_progress_events integer NOT NULL DEFAULT 0,  -- this attempt's so far
  ADD COLUMN message_count integer NOT NULL DEFAULT 0,            -- MESSAGE events kept
  ADD COLUMN fold_sequence bigint NOT NULL DEFAULT 0,  -- the last progress event past the limit
  ADD COLUMN fold_count integer NOT NULL DEFAULT 0;    -- and how many it folds
-- A progress event stands for this many earlier ones of its attempt, deleted: the events
-- sequence - folded .. sequence - 1.
ALTER TABLE job_events ADD COLUMN folded integer NOT NULL DEFAULT 0;
