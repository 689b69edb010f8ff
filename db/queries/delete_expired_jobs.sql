-- Deletes up to $1 finished jobs whose expire_time has passed on the database's clock, and
-- their events; returns how many jobs. SKIP LOCKED lets several replicas run retention at once without
-- waiting on each other.
WITH gone AS (
  DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs WHERE expire_time <= now() ORDER BY expire_time LIMIT $1
    FOR UPDATE SKIP LOCKED)
  RETURNING id
), events AS (
  DELETE FROM job_events AS e USING gone WHERE e.job_id = gone.id
)
SELECT count(*) FROM gone
