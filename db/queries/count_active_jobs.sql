-- Active jobs of a workspace, one count per state so that each uses its index (jobs_ready,
-- jobs_due; RUNNING and PAUSED ones through jobs_list_by_state).
SELECT (SELECT count(*) FROM jobs WHERE workspace_id = $1 AND state = 'queued')
     + (SELECT count(*) FROM jobs WHERE workspace_id = $1 AND state = 'scheduled')
     + (SELECT count(*) FROM jobs WHERE workspace_id = $1 AND state = 'running')
     + (SELECT count(*) FROM jobs WHERE workspace_id = $1 AND state = 'paused')
