-- Job counts of a workspace per type and state.
SELECT type, state, count(*) AS count FROM jobs WHERE workspace_id = $1 GROUP BY type, state
