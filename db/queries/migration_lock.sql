-- Serializes `jobd migrate` across replicas, per schema.
SELECT pg_advisory_lock(hashtext('jobd.migrate.' || current_schema()))
