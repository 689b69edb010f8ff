-- Microseconds until the soonest unpaused schedule is due (negative: overdue); NULL: none.
SELECT (EXTRACT(EPOCH FROM (min(next_fire_time) - now())) * 1000000)::bigint AS wait_us
  FROM schedules WHERE NOT paused
