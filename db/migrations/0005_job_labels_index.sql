-- Label filters of ListJobs and WatchJobs (labels @> '{...}') served by an index, whatever
-- share of a workspace carries the labels. Partial: jobs without labels cost nothing to write.
CREATE INDEX jobs_labels ON jobs USING gin (labels jsonb_path_ops) WHERE labels <> '{}'::jsonb;
