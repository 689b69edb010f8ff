-- Tells other jobd processes which events were committed: one notification per payload
-- ($1 text[], each "job_id:after-last,..." under NOTIFY's 8,000-byte cap), all in this one
-- statement's transaction, which writes no job.
SELECT pg_notify('jobd_events', payload) FROM unnest($1::text[]) AS payload
