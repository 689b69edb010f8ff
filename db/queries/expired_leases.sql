-- RUNNING jobs whose lease (or attempt deadline) has passed on the database's clock, oldest
-- expiry first. $1 limit.
SELECT id FROM jobs WHERE state = 'running' AND lease_expire_time <= now()
ORDER BY lease_expire_time LIMIT $1
