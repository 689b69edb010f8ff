-- Locks a batch of jobs ($1, sorted) for one group-commit transaction.
SELECT * FROM jobs WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE
