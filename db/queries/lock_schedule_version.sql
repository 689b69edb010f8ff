-- A schedule's version, its row locked until commit (a run is created only on the version read).
SELECT version FROM schedules WHERE id = $1 FOR UPDATE
