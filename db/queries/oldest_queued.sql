-- When the longest-waiting QUEUED job of a workspace became ready (NULL when none).
SELECT min(run_after) FROM jobs WHERE workspace_id = $1 AND state = 'queued'
