-- The latest event sequence of each given job ($1 uuid[]) that exists.
SELECT id, sequence FROM jobs WHERE id = ANY($1::uuid[])
