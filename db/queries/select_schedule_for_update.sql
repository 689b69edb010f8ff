SELECT *, now() AS db_now FROM schedules WHERE id = $1 FOR UPDATE
