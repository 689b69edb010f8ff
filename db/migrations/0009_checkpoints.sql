-- Checkpoints: where a job's work has got to, saved by its worker with a progress report and
-- handed to every later attempt with its lease. NULL until one is saved. Not indexed, so a
-- report that saves one is still a HOT update.
ALTER TABLE jobs ADD COLUMN checkpoint jsonb;
