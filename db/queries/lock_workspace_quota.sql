-- Serializes creates of one workspace while its active-job quota is checked (only with
-- --max_active_jobs_per_workspace set); released at commit.
SELECT pg_advisory_xact_lock(hashtextextended('jobd.active_jobs.' || $1, 0))
