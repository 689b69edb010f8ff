-- Tells other jobd processes which (workspace, type) queues may have ready jobs: one
-- notification per payload ($1 text[], each a JSON list of [workspace, type] pairs under
-- NOTIFY's 8,000-byte cap; an empty payload means "any"). Sent outside job transactions, at
-- most every few milliseconds, by one sender per process.
SELECT pg_notify('jobd_ready', payload) FROM unnest($1::text[]) AS payload
