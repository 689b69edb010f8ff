SELECT * FROM schedules WHERE id = $1
