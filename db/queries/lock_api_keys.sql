-- Serializes key writes until commit, so change_seq values commit in order (see 0003).
SELECT pg_advisory_xact_lock(7420113859)
