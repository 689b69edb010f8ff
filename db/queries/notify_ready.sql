-- A payload-free hint to other jobd processes that jobs may be ready. Sent outside job
-- transactions, at most every few milliseconds, by one sender per process.
SELECT pg_notify('jobd_ready', '')
