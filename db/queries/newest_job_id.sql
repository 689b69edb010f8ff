-- The largest job id ('' when there is none): ids are UUIDv7, so jobs created later are above.
SELECT coalesce((SELECT id::text FROM jobs ORDER BY id DESC LIMIT 1), '')
