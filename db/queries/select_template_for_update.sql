SELECT *, now() AS db_now FROM job_templates WHERE id = $1 FOR UPDATE
