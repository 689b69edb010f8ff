-- One trim at a time across replicas (until the transaction ends): trim_finished_jobs.sql,
-- run after it with a fresh snapshot, then counts what the previous trim left.
SELECT pg_advisory_xact_lock(hashtext('jobd_trim_finished_jobs'))
