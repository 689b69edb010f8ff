-- The workspace's template of that name, else the shared one ('' sorts first: DESC).
SELECT * FROM job_templates
 WHERE name = $2 AND workspace_id IN ($1, '')
 ORDER BY workspace_id DESC
 LIMIT 1
