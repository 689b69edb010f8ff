-- RUNNING jobs whose lease (or attempt deadline) has passed on the database's clock, oldest
-- expiry first. $1 limit. Through jobs_running (every RUNNING job, as many as the workers'
-- slots): lease_expire_time has no index, so that renewing it is a HOT update.
SELECT id FROM jobs WHERE state = 'running' AND lease_expire_time <= now()
ORDER BY lease_expire_time LIMIT $1
