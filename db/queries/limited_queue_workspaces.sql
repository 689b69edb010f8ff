-- Workspaces with a limited queue: only their acquires look for limited queues to lock.
SELECT DISTINCT workspace_id FROM job_queues
WHERE max_running IS NOT NULL OR max_starts_per_second IS NOT NULL
