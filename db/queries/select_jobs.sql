-- The jobs with the given ids ($1 uuid[]) that exist, in no particular order.
SELECT * FROM jobs WHERE id = ANY($1::uuid[])
