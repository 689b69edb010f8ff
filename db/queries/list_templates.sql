-- A workspace's templates and the shared ones, by (name, workspace), after ($2, $3).
SELECT * FROM job_templates
 WHERE workspace_id IN ($1, '') AND (name, workspace_id) > ($2, $3)
 ORDER BY name, workspace_id
 LIMIT $4
