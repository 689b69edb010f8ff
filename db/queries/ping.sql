-- The database's clock in microseconds since the epoch (clock_timestamp: the moment of
-- reading, not the transaction's start).
SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
