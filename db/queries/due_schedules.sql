-- Unpaused schedules due now (schedules_due), soonest first, with the database's time.
SELECT *, now() AS db_now FROM schedules
 WHERE NOT paused AND next_fire_time <= now()
 ORDER BY next_fire_time
 LIMIT $1
