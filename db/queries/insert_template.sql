INSERT INTO job_templates (id, workspace_id, name, body, create_time, update_time)
VALUES ($1, $2, $3, $4, now(), now())
RETURNING *
