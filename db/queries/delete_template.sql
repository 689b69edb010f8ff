DELETE FROM job_templates WHERE id = $1
