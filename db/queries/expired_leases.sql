-- RUNNING jobs whose lease (or attempt deadline) has passed, oldest expiry first.
SELECT id FROM jobs WHERE state = 'running' AND lease_expire_time <= $1
ORDER BY lease_expire_time LIMIT $2
