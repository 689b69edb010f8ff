SELECT * FROM jobs WHERE workspace_id = $1 AND idempotency_key = $2
