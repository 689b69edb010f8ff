-- jobd schema 7: progress reports as HOT updates.
-- A ReportProgress renews lease_expire_time; while that column was indexed (jobs_lease_expiry)
-- every report wrote a new entry into every index of the row (primary key, both list indexes,
-- the lease index). Without an index on it, a report changes no indexed column, and PostgreSQL
-- can keep the new row version on the same page with no index entry at all (a HOT update).
-- The reaper finds RUNNING jobs through an index on a column that never changes (id) and
-- checks their expiry in the heap: RUNNING jobs are as many as the workers' slots.
CREATE INDEX jobs_running ON jobs (id) WHERE state = 'running';
DROP INDEX jobs_lease_expiry;
-- Room on each page for the new versions of its rows (HOT needs the same page).
ALTER TABLE jobs SET (fillfactor = 90);
