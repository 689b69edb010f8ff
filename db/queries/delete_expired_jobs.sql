-- Deletes up to $2 finished jobs whose expire_time has passed ($1 = now); events cascade.
-- SKIP LOCKED lets several replicas run retention at once without waiting on each other.
DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs WHERE expire_time <= $1 ORDER BY expire_time LIMIT $2
  FOR UPDATE SKIP LOCKED)
