-- A workspace's schedules by name, after $2.
SELECT * FROM schedules WHERE workspace_id = $1 AND name > $2 ORDER BY name LIMIT $3
