-- Newest first (ids are time-ordered UUIDs); $3 NULL: every workspace.
SELECT * FROM api_keys
WHERE id < $1 AND ($3::text IS NULL OR workspace_id = $3)
ORDER BY id DESC
LIMIT $2
