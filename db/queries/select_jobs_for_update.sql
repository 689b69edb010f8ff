-- Locks a batch of jobs ($1, sorted) for one group-commit transaction. db_now is the
-- database's time, which decides the changes' leases and deadlines.
SELECT *, now() AS db_now FROM jobs WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE
