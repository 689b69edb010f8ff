UPDATE job_templates SET name = $2, body = $3, update_time = now() WHERE id = $1 RETURNING *
