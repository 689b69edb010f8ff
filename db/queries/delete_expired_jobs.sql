-- Deletes up to $2 finished jobs whose expire_time has passed ($1 = now), and their events;
-- returns how many jobs. SKIP LOCKED lets several replicas run retention at once without
-- waiting on each other.
WITH gone AS (
  DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs WHERE expire_time <= $1 ORDER BY expire_time LIMIT $2
    FOR UPDATE SKIP LOCKED)
  RETURNING id
), events AS (
  DELETE FROM job_events AS e USING gone WHERE e.job_id = gone.id
)
SELECT count(*) FROM gone
