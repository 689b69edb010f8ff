SELECT pg_advisory_unlock(hashtext('jobd.migrate.' || current_schema()))
